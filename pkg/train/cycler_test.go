package train

import "testing"

// The neural batch cycler takes sessions in turn, hands out full batches, visits every trial of a session once per
// pass (a new order each pass), and a position restored from a checkpoint continues identically.
func TestCyclerSessionsAndPasses(t *testing.T) {
	r := &Responses{Source: "test", Neurons: 3, H: 1, W: 1, Images: make([]uint8, 10), Values: make([]float32, 10*3)}
	for i := range 10 {
		r.Trial = append(r.Trial, i)
	}
	r.Sessions = []ResponseSession{{ID: "a", Neurons: []int{0, 1}, Trials: []int{0, 1, 2, 3, 4, 5}},
		{ID: "b", Neurons: []int{2}, Trials: []int{6, 7, 8, 9}}}
	c := newCycler(r, 3, 1)
	seen := map[int]map[int]int{0: {}, 1: {}}
	for k := range 8 { // 4 batches per session: 12 trials of a (two passes), 12 of b (three passes)
		s, trials := c.next()
		if s != k%2 {
			t.Fatalf("batch %d from session %d, want %d", k, s, k%2)
		}
		if len(trials) != 3 {
			t.Fatalf("batch of %d", len(trials))
		}
		for _, tr := range trials {
			seen[s][tr]++
		}
	}
	for _, tr := range r.Sessions[0].Trials {
		if seen[0][tr] != 2 {
			t.Errorf("session a, trial %d seen %d times in two passes", tr, seen[0][tr])
		}
	}
	for _, tr := range r.Sessions[1].Trials {
		if seen[1][tr] != 3 {
			t.Errorf("session b, trial %d seen %d times in three passes", tr, seen[1][tr])
		}
	}
	// Resume from a saved position.
	a := newCycler(r, 3, 1)
	for range 3 {
		a.next()
	}
	b := newCycler(r, 3, 1)
	if err := b.setPos(a.Pos); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		sa, ta := a.next()
		sb, tb := b.next()
		if sa != sb || len(ta) != len(tb) || ta[0] != tb[0] || ta[2] != tb[2] {
			t.Fatalf("resumed cycler diverged: %d %v vs %d %v", sa, ta, sb, tb)
		}
	}
	if m := r.Mask(1); m[0] != 0 || m[2] != 1 {
		t.Errorf("mask of session b: %v", m)
	}
}
