package afotel

import (
	"strconv"
	"testing"
)

func TestBusObserver_attrsOfIsBounded(t *testing.T) {
	o, err := NewBusObserver(BusObserverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxCachedAgents + 10 {
		name := "agent-" + strconv.Itoa(i)
		if a := o.attrsOf(name); a.span != "deliver "+name {
			t.Fatalf("span name %q for %s", a.span, name)
		}
	}
	if n := o.cached.Load(); n != maxCachedAgents {
		t.Errorf("%d agents cached, want the bound %d", n, maxCachedAgents)
	}
	first, again := o.attrsOf("agent-0"), o.attrsOf("agent-0")
	if first != again {
		t.Error("a cached agent's attributes are built again")
	}
}
