package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/cluster"
)

// fleet starts n members named i0…, labelled zone=even/odd.
func fleet(t *testing.T, b *memBackend, n int) []*node {
	nodes := make([]*node, n)
	for i := range nodes {
		cfg := testConfig(fmt.Sprintf("i%d", i))
		cfg.Labels = map[string]string{"zone": []string{"even", "odd"}[i%2]}
		nodes[i] = newNode(t, b, cfg).start()
	}
	return nodes
}

// running returns the names of the nodes whose engine runs scenario name.
func running(nodes []*node, name string) []string {
	var out []string
	for _, n := range nodes {
		if _, ok := n.chaos.Lookup(name); ok {
			out = append(out, n.m.Config().Instance)
		}
	}
	return out
}

func TestMember_InjectFleet(t *testing.T) {
	for _, tc := range []struct {
		name string
		sel  cluster.Selector
		want []string
	}{
		{"by name", cluster.Selector{Names: []string{"i1", "i4", "nobody"}}, []string{"i1", "i4"}},
		{"by label", cluster.Selector{Labels: map[string]string{"zone": "odd"}}, []string{"i1", "i3", "i5"}},
		{"by label and name", cluster.Selector{Names: []string{"i0", "i1"}, Labels: map[string]string{"zone": "odd"}}, []string{"i1"}},
		{"everyone", cluster.Selector{}, []string{"i0", "i1", "i2", "i3", "i4", "i5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				nodes := fleet(t, newBackend(), 6)
				run, err := nodes[0].m.InjectFleet(context.Background(), latency("slow", 30*time.Second), tc.sel, "alice")
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(run.Selected, tc.want) || run.By != "alice" || run.ConstitutionalHash != antifragile.ConstitutionalHash {
					t.Fatalf("run = %+v, want %v selected", run, tc.want)
				}
				synctest.Wait()
				if got := running(nodes, "slow"); !slices.Equal(got, tc.want) {
					t.Fatalf("running on %v, want %v", got, tc.want)
				}
				st, err := nodes[3].m.Fleet(context.Background(), "slow")
				if err != nil {
					t.Fatal(err)
				}
				if st.Accepted != len(tc.want) || st.Pending != 0 || st.Refused != 0 || st.Run.ID != run.ID {
					t.Fatalf("status = %+v", st)
				}
			})
		})
	}
}

func TestMember_InjectFleet_Fraction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		nodes := fleet(t, newBackend(), 10)
		sel := cluster.Selector{Fraction: 0.25, Seed: 42}
		run, err := nodes[0].m.InjectFleet(ctx, latency("slow", 30*time.Second), sel, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(run.Selected) != 3 { // ⌈0.25 × 10⌉
			t.Fatalf("selected %v, want 3 instances", run.Selected)
		}
		again, err := nodes[5].m.InjectFleet(ctx, latency("slow2", 30*time.Second), sel, "")
		if err != nil || !slices.Equal(again.Selected, run.Selected) {
			t.Fatalf("the same seed selected %v then %v (%v)", run.Selected, again.Selected, err)
		}
		other, _ := nodes[0].m.InjectFleet(ctx, latency("slow3", 30*time.Second), cluster.Selector{Fraction: 0.25, Seed: 7}, "")
		if slices.Equal(other.Selected, run.Selected) {
			t.Fatalf("seeds 42 and 7 selected the same %v", run.Selected)
		}
		odd, _ := nodes[0].m.InjectFleet(ctx, latency("slow4", 30*time.Second),
			cluster.Selector{Fraction: 0.5, Seed: 42, Labels: map[string]string{"zone": "odd"}}, "")
		if len(odd.Selected) != 3 {
			t.Fatalf("half of 5 odd instances: %v", odd.Selected)
		}
		for _, s := range odd.Selected {
			if n := s[len(s)-1] - '0'; n%2 != 1 {
				t.Fatalf("%s is not odd", s)
			}
		}
		synctest.Wait()
		if got := running(nodes, "slow"); !slices.Equal(got, run.Selected) {
			t.Fatalf("running on %v, selected %v", got, run.Selected)
		}
	})
}

func TestMember_InjectFleet_Ends(t *testing.T) {
	t.Run("everywhere at its expiry", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			nodes := fleet(t, newBackend(), 3)
			if _, err := nodes[0].m.InjectFleet(context.Background(), latency("slow", 10*time.Second), cluster.Selector{}, ""); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10*time.Second - time.Nanosecond)
			synctest.Wait()
			if got := running(nodes, "slow"); len(got) != 3 {
				t.Fatalf("running on %v before the expiry", got)
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			if got := running(nodes, "slow"); len(got) != 0 {
				t.Fatalf("still running on %v after the expiry", got)
			}
		})
	})
	t.Run("everywhere on StopFleet, leaving a local scenario alone", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx := context.Background()
			nodes := fleet(t, newBackend(), 3)
			if _, err := nodes[0].m.InjectFleet(ctx, latency("slow", time.Minute), cluster.Selector{Names: []string{"i0", "i1"}}, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := nodes[2].chaos.Inject(latency("slow", time.Minute)); err != nil { // i2's own, same name
				t.Fatal(err)
			}
			synctest.Wait()
			n, err := nodes[1].m.StopFleet(ctx, "slow")
			if err != nil || n != 2 {
				t.Fatalf("StopFleet = %d, %v", n, err)
			}
			synctest.Wait()
			if got := running(nodes, "slow"); !slices.Equal(got, []string{"i2"}) {
				t.Fatalf("running on %v, want only i2's own", got)
			}
		})
	})
	t.Run("everywhere on the lever, and not again after the reset", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx := context.Background()
			b := newBackend()
			nodes := fleet(t, b, 3)
			if _, err := nodes[0].m.InjectFleet(ctx, latency("slow", time.Minute), cluster.Selector{}, ""); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if _, err := nodes[0].m.EmergencyStop(ctx, "ops"); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if got := running(nodes, "slow"); len(got) != 0 {
				t.Fatalf("running on %v after the lever", got)
			}
			if _, err := nodes[0].m.InjectFleet(ctx, latency("x", time.Minute), cluster.Selector{}, ""); !errors.Is(err, cluster.ErrStopped) {
				t.Fatalf("fleet chaos while stopped: %v", err)
			}
			if _, err := nodes[0].m.Reset(ctx, "ops"); err != nil {
				t.Fatal(err)
			}
			late := newNode(t, b, testConfig("late")).start() // reads the old assignment? it has none
			synctest.Wait()
			if got := running(append(nodes, late), "slow"); len(got) != 0 {
				t.Fatalf("the old run came back on %v after the reset", got)
			}
			// An instance that restarts sees its old assignment again: it refuses it.
			nodes[1].stop()
			restarted := newNode(t, b, nodes[1].m.Config()).start()
			synctest.Wait()
			if _, ok := restarted.chaos.Lookup("slow"); ok {
				t.Fatal("a restarted instance applied an assignment from before the stop")
			}
		})
	})
}

func TestMember_InjectFleet_Refusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		nodes := fleet(t, newBackend(), 3)
		// i1's memory is mostly taken: its cap refuses the fleet's share.
		if _, err := nodes[1].chaos.Inject(chaos.ResourceScenario(chaos.ResourceMemory, 0.8, "host", time.Minute)); err != nil {
			t.Fatal(err)
		}
		mem := chaos.ResourceScenario(chaos.ResourceMemory, 0.5, "host", time.Minute)
		mem.Name = "fleet-mem"
		if _, err := nodes[0].m.InjectFleet(ctx, mem, cluster.Selector{}, ""); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		st, err := nodes[0].m.Fleet(ctx, "fleet-mem")
		if err != nil {
			t.Fatal(err)
		}
		if st.Accepted != 2 || st.Refused != 1 {
			t.Fatalf("status %+v", st)
		}
		for _, r := range st.Results {
			if (r.Instance == "i1") != (r.Outcome == cluster.FleetRefused) {
				t.Fatalf("result %+v", r)
			}
			if r.Instance == "i1" && !strings.Contains(r.Error, "resource cap") {
				t.Fatalf("i1 refused with %q", r.Error)
			}
		}
		if m := nodes[1].m.Metrics(); m.FleetRefused != 1 || m.FleetAccepted != 0 {
			t.Fatalf("i1 metrics %+v", m)
		}
	})
	t.Run("a selection of nobody, a bad scenario, a bad selector", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx := context.Background()
			nodes := fleet(t, newBackend(), 2)
			m := nodes[0].m
			if _, err := m.InjectFleet(ctx, latency("x", time.Minute), cluster.Selector{Names: []string{"ghost"}}, ""); !errors.Is(err, cluster.ErrNoInstances) {
				t.Fatalf("selecting nobody: %v", err)
			}
			bad := latency("", time.Minute)
			if _, err := m.InjectFleet(ctx, bad, cluster.Selector{}, ""); !errors.Is(err, antifragile.ErrInvalid) {
				t.Fatalf("nameless scenario: %v", err)
			}
			withErr := latency("e", time.Minute)
			withErr.Err = errors.New("custom")
			if _, err := m.InjectFleet(ctx, withErr, cluster.Selector{}, ""); !errors.Is(err, antifragile.ErrInvalid) {
				t.Fatalf("a scenario with an Err value: %v", err)
			}
			err := cluster.Selector{Fraction: 1.5, Names: []string{""}}.Validate()
			if f := antifragile.InvalidFields(err); !slices.Equal(f, []string{"names[0]", "fraction"}) {
				t.Fatalf("selector fields %v (%v)", f, err)
			}
			if _, err := m.Fleet(ctx, "never"); !errors.Is(err, cluster.ErrNotFound) {
				t.Fatalf("Fleet of an unknown run: %v", err)
			}
		})
	})
	t.Run("an instance cut off applies nothing; a stale one is not selected", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx := context.Background()
			nodes := fleet(t, newBackend(), 3)
			nodes[2].store.SetDown(true)
			time.Sleep(2500 * time.Millisecond)
			run, err := nodes[0].m.InjectFleet(ctx, latency("slow", time.Minute), cluster.Selector{}, "")
			if err != nil || !slices.Equal(run.Selected, []string{"i0", "i1"}) {
				t.Fatalf("selected %v (%v); i2 is stale", run.Selected, err)
			}
		})
	})
}
