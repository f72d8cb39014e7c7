package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
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

// A checkpoint file is checkpointMagic, the SHA-256 of the payload in hex and a newline, then the payload: a gob
// of checkpointPayload. The checksum is verified before anything is decoded; every variable's dtype, shape and
// byte count are checked before a tensor is allocated, and floating-point values must be finite. Files of the first
// format (a gob stream that starts with "cotrain-checkpoint-v1") are still read, with the same checks on their
// values.
const (
	checkpointMagic   = "cotrain-checkpoint-v2\n"
	checkpointMagicV1 = "cotrain-checkpoint-v1"
)

type checkpointPayload struct {
	State []byte // JSON
	Vars  []savedVariable
}

type savedVariable struct {
	Path  string
	DType string
	Dims  []int
	Data  []byte // little-endian, row-major
}

// checkpointDTypes are the dtypes a checkpoint may hold (weights, batch-norm statistics, step counters, RNG state).
var checkpointDTypes = map[string]dtypes.DType{}

func init() {
	for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.Float64, dtypes.Int32, dtypes.Int64, dtypes.Uint64,
		dtypes.Uint32, dtypes.Bool} {
		checkpointDTypes[dt.String()] = dt
	}
}

// WriteCheckpoint writes the snapshot and a JSON-encodable state (the trainer's position: epoch, schedule, metrics)
// to file atomically (a temporary file renamed into place), so that a run killed while writing leaves the previous
// checkpoint intact.
func WriteCheckpoint(file string, s Snapshot, state any) error {
	stateJSON, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", file, err)
	}
	p := checkpointPayload{State: stateJSON}
	for _, path := range s.Paths() {
		t := s[path]
		v := savedVariable{Path: path, DType: t.DType().String(), Dims: t.Shape().Dimensions}
		if err := t.ConstBytes(func(b []byte) { v.Data = bytes.Clone(b) }); err != nil {
			return fmt.Errorf("checkpoint %s, variable %s: %w", file, path, err)
		}
		p.Vars = append(p.Vars, v)
	}
	var payload bytes.Buffer
	if err := gob.NewEncoder(&payload).Encode(p); err != nil {
		return fmt.Errorf("checkpoint %s: %w", file, err)
	}
	sum := sha256.Sum256(payload.Bytes())
	out := append([]byte(checkpointMagic+hex.EncodeToString(sum[:])+"\n"), payload.Bytes()...)
	return provenance.WriteFileAtomic(file, out)
}

// ReadCheckpoint reads a checkpoint written by WriteCheckpoint; state, if not nil, receives the JSON state. Every
// error names the file and what is wrong with it.
func ReadCheckpoint(file string, state any) (Snapshot, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	s, stateJSON, err := DecodeCheckpoint(b)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", file, err)
	}
	if state != nil {
		if err := json.Unmarshal(stateJSON, state); err != nil {
			return nil, fmt.Errorf("checkpoint %s, state: %w", file, err)
		}
	}
	return s, nil
}

// DecodeCheckpoint decodes the bytes of a checkpoint file into its variables and its JSON state.
func DecodeCheckpoint(b []byte) (Snapshot, []byte, error) {
	if !bytes.HasPrefix(b, []byte(checkpointMagic)) {
		return decodeCheckpointV1(b)
	}
	rest := b[len(checkpointMagic):]
	nl := bytes.IndexByte(rest, '\n')
	if nl != 64 {
		return nil, nil, fmt.Errorf("damaged header (no checksum line)")
	}
	payload := rest[nl+1:]
	sum := sha256.Sum256(payload)
	if got := hex.EncodeToString(sum[:]); got != string(rest[:nl]) {
		return nil, nil, fmt.Errorf("damaged or truncated file: the content's sha256 is %s, the header says %s", got, rest[:nl])
	}
	var p checkpointPayload
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&p); err != nil {
		return nil, nil, fmt.Errorf("undecodable content: %w", err)
	}
	s := Snapshot{}
	for _, v := range p.Vars {
		t, err := v.tensor()
		if err != nil {
			return nil, nil, fmt.Errorf("variable %s: %w", v.Path, err)
		}
		if _, dup := s[v.Path]; dup {
			return nil, nil, fmt.Errorf("variable %s appears twice", v.Path)
		}
		s[v.Path] = t
	}
	return s, p.State, nil
}

// tensor checks the saved variable's dtype, shape and byte count, then makes its tensor and checks its values.
func (v savedVariable) tensor() (*tensors.Tensor, error) {
	dt, ok := checkpointDTypes[v.DType]
	if !ok {
		return nil, fmt.Errorf("dtype %q is not one a checkpoint holds", v.DType)
	}
	n := 1
	for _, d := range v.Dims {
		if d < 0 || (d > 0 && n > len(v.Data)/d) {
			return nil, fmt.Errorf("shape %v does not match its %d bytes", v.Dims, len(v.Data))
		}
		n *= d
	}
	if n*dt.Size() != len(v.Data) {
		return nil, fmt.Errorf("%d bytes for shape %v of %s (want %d)", len(v.Data), v.Dims, dt, n*dt.Size())
	}
	t := tensors.FromShape(shapes.Make(dt, v.Dims...))
	if err := t.MutableBytes(func(b []byte) { copy(b, v.Data) }); err != nil {
		return nil, err
	}
	return t, checkFinite(t)
}

// checkFinite rejects a floating-point tensor that holds NaN or ±Inf.
func checkFinite(t *tensors.Tensor) error {
	bad := -1
	switch t.DType() {
	case dtypes.Float32:
		for i, x := range tensors.MustCopyFlatData[float32](t) {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				bad = i
				break
			}
		}
	case dtypes.Float64:
		for i, x := range tensors.MustCopyFlatData[float64](t) {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				bad = i
				break
			}
		}
	}
	if bad >= 0 {
		return fmt.Errorf("non-finite value at element %d: the weights are damaged or the training diverged", bad)
	}
	return nil
}

// decodeCheckpointV1 reads the first checkpoint format (no checksum), with a guard against the panics that GoMLX's
// tensor decoder raises on damaged data.
func decodeCheckpointV1(b []byte) (s Snapshot, stateJSON []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			s, stateJSON, err = nil, nil, fmt.Errorf("damaged file (%v)", p)
		}
	}()
	dec := gob.NewDecoder(bytes.NewReader(b))
	var magic string
	var paths []string
	if err := dec.Decode(&magic); err != nil || magic != checkpointMagicV1 {
		return nil, nil, fmt.Errorf("not a cotrain checkpoint (want header %q)", strings.TrimSpace(checkpointMagic))
	}
	if err := dec.Decode(&stateJSON); err != nil {
		return nil, nil, err
	}
	if err := dec.Decode(&paths); err != nil {
		return nil, nil, err
	}
	s = Snapshot{}
	for _, p := range paths {
		t, err := tensors.GobDeserialize(dec)
		if err != nil {
			return nil, nil, fmt.Errorf("variable %s: %w", p, err)
		}
		if _, ok := checkpointDTypes[t.DType().String()]; !ok {
			return nil, nil, fmt.Errorf("variable %s: dtype %s is not one a checkpoint holds", p, t.DType())
		}
		if err := checkFinite(t); err != nil {
			return nil, nil, fmt.Errorf("variable %s: %w", p, err)
		}
		s[p] = t
	}
	return s, stateJSON, nil
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
