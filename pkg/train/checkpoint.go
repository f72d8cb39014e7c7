package train

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/robustvision/cotrain/pkg/provenance"
)

// Snapshot is a copy of a context's variables, held in memory (the best weights of reduce-on-plateau) or written to
// a checkpoint file. Keys are the variables' "scope/name" paths.
type Snapshot map[string]*tensors.Tensor

// Take copies the values of every variable of ctx whose path passes keep (nil keeps all).
func Take(ctx *context.Context, keep func(path string) bool) (Snapshot, error) {
	s := Snapshot{}
	for v := range ctx.IterVariables() {
		path := v.ScopeAndName()
		if keep != nil && !keep(path) {
			continue
		}
		val, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", path, err)
		}
		clone, err := val.LocalClone()
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", path, err)
		}
		s[path] = clone
	}
	return s, nil
}

// Restore writes the snapshot's values into ctx, creating variables that ctx does not have yet, for every path that
// passes keep (nil keeps all). Shapes must agree with existing variables.
func (s Snapshot) Restore(ctx *context.Context, keep func(path string) bool) error {
	for _, path := range s.Paths() {
		if keep != nil && !keep(path) {
			continue
		}
		t, err := s[path].LocalClone()
		if err != nil {
			return err
		}
		scope, name := splitPath(path)
		if v := ctx.GetVariableByScopeAndName(scope, name); v != nil {
			if !v.Shape().Equal(t.Shape()) {
				return fmt.Errorf("variable %s: checkpoint has shape %s, the model %s", path, t.Shape(), v.Shape())
			}
			if err := v.SetValue(t); err != nil {
				return fmt.Errorf("variable %s: %w", path, err)
			}
			continue
		}
		ctx.InAbsPath(scope).Checked(false).VariableWithValue(name, t)
	}
	return nil
}

// Paths lists the snapshot's variable paths in order.
func (s Snapshot) Paths() []string {
	paths := make([]string, 0, len(s))
	for p := range s {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

func splitPath(path string) (scope, name string) {
	i := strings.LastIndex(path, context.ScopeSeparator)
	scope, name = path[:i], path[i+1:]
	if scope == "" {
		scope = context.RootScope
	}
	return scope, name
}

// checkpointMagic starts every checkpoint file.
const checkpointMagic = "cotrain-checkpoint-v1"

// WriteCheckpoint writes the snapshot and a JSON-encodable state (the trainer's position: epoch, schedule, metrics)
// to file atomically (a temporary file renamed into place), so that a run killed while writing leaves the previous
// checkpoint intact.
func WriteCheckpoint(file string, s Snapshot, state any) error {
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	stateJSON, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", file, err)
	}
	paths := s.Paths()
	if err := enc.Encode(checkpointMagic); err != nil {
		return err
	}
	if err := enc.Encode(stateJSON); err != nil {
		return err
	}
	if err := enc.Encode(paths); err != nil {
		return err
	}
	for _, p := range paths {
		if err := s[p].GobSerialize(enc); err != nil {
			return fmt.Errorf("checkpoint %s, variable %s: %w", file, p, err)
		}
	}
	return provenance.WriteFileAtomic(file, buf.Bytes())
}

// ReadCheckpoint reads a checkpoint written by WriteCheckpoint; state, if not nil, receives the JSON state.
func ReadCheckpoint(file string, state any) (Snapshot, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	dec := gob.NewDecoder(bytes.NewReader(b))
	var magic string
	var stateJSON []byte
	var paths []string
	if err := dec.Decode(&magic); err != nil || magic != checkpointMagic {
		return nil, fmt.Errorf("checkpoint %s: not a cotrain checkpoint (want header %q)", file, checkpointMagic)
	}
	if err := dec.Decode(&stateJSON); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", file, err)
	}
	if err := dec.Decode(&paths); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", file, err)
	}
	s := Snapshot{}
	for _, p := range paths {
		t, err := tensors.GobDeserialize(dec)
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s, variable %s: %w", file, p, err)
		}
		s[p] = t
	}
	if state != nil {
		if err := json.Unmarshal(stateJSON, state); err != nil {
			return nil, fmt.Errorf("checkpoint %s, state: %w", file, err)
		}
	}
	return s, nil
}

// InScope returns a filter for Take and Restore that keeps the variables under the given scopes (e.g. "/shared").
func InScope(scopes ...string) func(string) bool {
	return func(path string) bool {
		for _, s := range scopes {
			if strings.HasPrefix(path, s+context.ScopeSeparator) {
				return true
			}
		}
		return false
	}
}

// modelState keeps what PyTorch's model.state_dict() holds: every variable but the optimizer's state (momentum
// buffers, learning rate, step counter) and the random-number state. Reduce-on-plateau restores only these.
func modelState(path string) bool {
	return !strings.HasPrefix(path, context.RootScope+momentumScope+context.ScopeSeparator) &&
		!strings.HasPrefix(path, context.RootScope+"optimizers"+context.ScopeSeparator) &&
		!strings.HasSuffix(path, context.RNGStateVariableName)
}
