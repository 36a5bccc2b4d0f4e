package chaos

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile/internal/flock"
)

// burner is a group of goroutines consuming a resource for one scenario.
// The engine owns it: the goroutines stop when stop is called or the engine
// halts, and done is closed when the last of them has exited.
type burner struct {
	e        *Engine
	stopFlag atomic.Bool
	stopCh   chan struct{} // closed by stop; wakes sleeping goroutines
	live     atomic.Int32
	done     chan struct{} // closed when live reaches 0
	sink     atomic.Uint64 // keeps the busy loop's result alive
}

func newBurner(e *Engine, n int) *burner {
	b := &burner{e: e, stopCh: make(chan struct{}), done: make(chan struct{})}
	b.live.Store(int32(n))
	return b
}

// stop asks every goroutine of the burner to exit; it does not wait. It is
// idempotent.
func (b *burner) stop() {
	if b.stopFlag.CompareAndSwap(false, true) {
		close(b.stopCh)
	}
}

// stopping is what the busy loops poll: one or two atomic loads.
func (b *burner) stopping() bool { return b.stopFlag.Load() || b.e.halted() }

func (b *burner) exit() {
	if b.live.Add(-1) == 0 {
		close(b.done)
	}
}

func (b *burner) exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// cpuPeriod is the duty cycle of a cpu burner goroutine: busy for
// level × cpuPeriod, then asleep for the rest.
const cpuPeriod = 10 * time.Millisecond

// startCPU starts GOMAXPROCS goroutines, each busy for level of every
// cpuPeriod, so that together they take level of the available cores' time.
// A goroutine checks its stop flags every few microseconds of work and
// yields (runtime.Gosched) as often, so it stops within microseconds and
// never starves the goroutine that stops it.
func (e *Engine) startCPU(level float64) *burner {
	n := runtime.GOMAXPROCS(0)
	b := newBurner(e, n)
	busy := time.Duration(level * float64(cpuPeriod))
	e.cpuGoroutines.Add(int64(n))
	for range n {
		go e.spin(b, busy)
	}
	return b
}

func (e *Engine) spin(b *burner, busy time.Duration) {
	defer b.exit()
	defer e.cpuGoroutines.Add(-1)
	idle := cpuPeriod - busy
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	x := uint64(0x9e3779b97f4a7c15)
	for {
		start := time.Now()
		for {
			for range 512 { // a few microseconds of xorshift
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
			}
			if b.stopping() {
				e.cpuBusy.Add(int64(time.Since(start)))
				b.sink.Store(x)
				return
			}
			if time.Since(start) >= busy {
				break
			}
			runtime.Gosched()
		}
		e.cpuBusy.Add(int64(time.Since(start)))
		b.sink.Store(x)
		if idle <= 0 {
			continue
		}
		if timer == nil {
			timer = time.NewTimer(idle)
		} else {
			timer.Reset(idle)
		}
		select {
		case <-timer.C:
		case <-b.stopCh:
			return
		}
	}
}

// Memory is allocated in chunks, and one byte of every page is written so
// that the operating system really backs it.
const (
	memChunk = 1 << 20
	memPage  = 4 << 10
)

// allocate allocates and touches n bytes. It gives up (returning nil) as
// soon as the engine halts.
func (e *Engine) allocate(n int64) [][]byte {
	var out [][]byte
	for n > 0 {
		c := min(n, memChunk)
		buf := make([]byte, c)
		for i := 0; i < len(buf); i += memPage {
			buf[i] = 1
		}
		out = append(out, buf)
		n -= c
		if e.halted() {
			return nil
		}
	}
	return out
}

// diskJob is a disk_io scenario's temporary directory and file, created by
// Inject before the writer goroutine takes them over.
type diskJob struct {
	dir     string // where f lives, in processDisk
	f       *os.File
	rate    int64 // bytes per second
	maxSize int64 // bytes
}

const diskChunk = 64 << 10

func (e *Engine) prepareDisk(level float64) (*diskJob, error) {
	dir, err := processDisk.acquire(e.conf().DiskIO.Dir)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "burn-*.dat")
	if err != nil {
		processDisk.release(dir)
		return nil, err
	}
	return &diskJob{
		dir:     dir,
		f:       f,
		rate:    max(1, int64(level*float64(e.conf().DiskIO.BytesPerSecond))),
		maxSize: int64(level * float64(e.conf().DiskIO.MaxBytes)),
	}, nil
}

// cleanup closes and removes the job's file, and the process's disk_io
// directory with it when it was the last job.
func (j *diskJob) cleanup() {
	j.f.Close()
	os.Remove(j.f.Name())
	processDisk.release(j.dir)
}

// diskDirPrefix names the per-process directories of disk_io scenarios.
const diskDirPrefix = "antifragile-chaos-disk-"

// diskDirs are the process's directories for disk_io files, one per base
// directory (DiskIO.Dir, or the system's temp dir):
// base/antifragile-chaos-disk-<pid>, locked while it exists, made when the
// first disk_io scenario of any engine in the process starts in base and
// removed when the last one ends. Before making one, acquire removes the
// directories of processes that died without cleaning up — their lock can
// be taken — so a kill -9 leaves files behind only until the next process
// runs a disk_io scenario there. Its methods are safe for concurrent use.
type diskDirs struct {
	mu   sync.Mutex
	dirs map[string]*diskDir // guarded by mu; by base
}

// diskDir is one locked directory and the number of files in it.
type diskDir struct {
	path string
	lock *os.File
	jobs int
}

// processDisk is shared by every engine in the process: they share its pid.
var processDisk diskDirs

// acquire returns the directory under base, making and locking it if
// needed, and counts one more job in it.
func (d *diskDirs) acquire(base string) (string, error) {
	if base == "" {
		base = os.TempDir()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	dd := d.dirs[base]
	if dd == nil {
		removeStaleDiskDirs(base)
		path := filepath.Join(base, diskDirPrefix+strconv.Itoa(os.Getpid()))
		if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", err
		}
		lock, err := flock.LockDir(path)
		if err != nil {
			return "", err
		}
		dd = &diskDir{path: path, lock: lock}
		if d.dirs == nil {
			d.dirs = make(map[string]*diskDir)
		}
		d.dirs[base] = dd
	}
	dd.jobs++
	return dd.path, nil
}

// release counts one job less in the directory at path, removing it after
// the last.
func (d *diskDirs) release(path string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for base, dd := range d.dirs {
		if dd.path != path {
			continue
		}
		if dd.jobs--; dd.jobs == 0 {
			_ = os.RemoveAll(dd.path)
			_ = dd.lock.Close()
			delete(d.dirs, base)
		}
		return
	}
}

// removeStaleDiskDirs removes the disk_io directories under base whose
// lock nobody holds: their process is gone.
func removeStaleDiskDirs(base string) {
	entries, _ := os.ReadDir(base)
	for _, ent := range entries {
		if !ent.IsDir() || !strings.HasPrefix(ent.Name(), diskDirPrefix) {
			continue
		}
		dir := filepath.Join(base, ent.Name())
		lock, err := flock.LockDir(dir)
		if err != nil {
			continue // in use by a live process
		}
		_ = os.RemoveAll(dir)
		_ = lock.Close()
	}
}

// startDisk starts the goroutine that writes and fsyncs j's file at j.rate,
// rewriting it from the start whenever it would exceed j.maxSize. It always
// writes at least one chunk, and removes the directory when it stops.
func (e *Engine) startDisk(j *diskJob) *burner {
	b := newBurner(e, 1)
	e.diskWriters.Add(1)
	go e.writeDisk(b, j)
	return b
}

func (e *Engine) writeDisk(b *burner, j *diskJob) {
	defer b.exit()
	defer e.diskWriters.Add(-1)
	defer j.cleanup()
	chunk := int64(diskChunk)
	if j.rate/10 < chunk {
		chunk = max(512, j.rate/10) // about ten writes a second
	}
	maxSize := max(j.maxSize, chunk)
	buf := make([]byte, chunk)
	for i := range buf {
		buf[i] = byte(i*31 + 7)
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	start := time.Now()
	var written, off int64
	for {
		if off+chunk > maxSize {
			off = 0
		}
		n, err := j.f.WriteAt(buf, off)
		off += int64(n)
		written += int64(n)
		e.diskWritten.Add(int64(n))
		if err == nil {
			err = j.f.Sync()
		}
		if err != nil {
			e.diskErrors.Add(1)
			return
		}
		if b.stopping() {
			return
		}
		due := start.Add(time.Duration(float64(written) / float64(j.rate) * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-b.stopCh:
				return
			}
		}
	}
}
