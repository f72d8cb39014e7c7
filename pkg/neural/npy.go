package neural

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strings"

	"github.com/sbinet/npyio/npy"

	"github.com/robustvision/cotrain/pkg/provenance"
)

// NumPy files. Reading uses github.com/sbinet/npyio (dtype checks, header parsing). Writing N-dimensional arrays is
// done here: npyio v0.6 writes flat slices as 1-D arrays and only 2-D float64 matrices with their shape, and this
// format needs uint8 [N,H,W] images and float32 [trials, neurons] responses. The header is the NumPy format 1.0
// header, padded so the data start at a multiple of 64 bytes.

type npyType interface {
	~uint8 | ~int64 | ~float32 | ~float64
}

func descr[T npyType]() string {
	var v T
	switch any(v).(type) {
	case uint8:
		return "|u1"
	case int64:
		return "<i8"
	case float32:
		return "<f4"
	default:
		return "<f8"
	}
}

// writeNPY writes data with the given shape as a .npy file (atomically).
func writeNPY[T npyType](path string, shape []int, data []T) error {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n != len(data) {
		return fmt.Errorf("%s: %d values for shape %v", path, len(data), shape)
	}
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	shapeStr := "(" + strings.Join(dims, ", ")
	if len(shape) == 1 {
		shapeStr += ","
	}
	shapeStr += ")"
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr[T](), shapeStr)
	total := 10 + len(header) + 1
	header += strings.Repeat(" ", (64-total%64)%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(header)))
	b.WriteString(header)
	if err := binary.Write(&b, binary.LittleEndian, data); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return provenance.WriteFileAtomic(path, b.Bytes())
}

// readNPY reads a .npy file into a flat slice and returns its shape; the error names the file and the problem.
func readNPY[T npyType](path string) ([]T, []int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("missing or unreadable file %s: %w", path, err)
	}
	return decodeNPY[T](raw, path)
}

// decodeNPY decodes the bytes of a .npy file (path names it in errors). The shape in the header is checked against
// the bytes that follow before anything is allocated.
func decodeNPY[T npyType](raw []byte, path string) (data []T, shape []int, err error) {
	defer func() { // npyio panics on some malformed headers
		if p := recover(); p != nil {
			data, shape, err = nil, nil, fmt.Errorf("%s: malformed .npy header (%v)", path, p)
		}
	}()
	// The header's own length must fit in the file before npyio reads (and allocates) it.
	if len(raw) < 12 || string(raw[:6]) != "\x93NUMPY" {
		return nil, nil, fmt.Errorf("%s: not a NumPy .npy file (no \\x93NUMPY magic)", path)
	}
	hlen := 10 + int(binary.LittleEndian.Uint16(raw[8:10]))
	if raw[6] >= 2 {
		hlen = 12 + int(binary.LittleEndian.Uint32(raw[8:12]))
	}
	if hlen > len(raw) || hlen < 0 {
		return nil, nil, fmt.Errorf("%s: header of %d bytes in a file of %d", path, hlen, len(raw))
	}
	r, err := npy.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not a NumPy .npy file: %w", path, err)
	}
	if want := descr[T](); r.Header.Descr.Type != want && !(want == "<i8" && r.Header.Descr.Type == "<i4") {
		return nil, nil, fmt.Errorf("%s: dtype %s, want %s", path, r.Header.Descr.Type, want)
	}
	if r.Header.Descr.Fortran {
		return nil, nil, fmt.Errorf("%s: Fortran-ordered arrays are not supported (save with np.ascontiguousarray)", path)
	}
	shape = append([]int(nil), r.Header.Descr.Shape...)
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > len(raw)/d) {
			return nil, nil, fmt.Errorf("%s: shape %v does not fit in a file of %d bytes", path, shape, len(raw))
		}
		n *= d
	}
	// The data must fill the rest of the file exactly (npyio does not notice a truncated file).
	if len(raw) < 10 {
		return nil, nil, fmt.Errorf("%s: truncated header", path)
	}
	headerEnd := 10 + int(binary.LittleEndian.Uint16(raw[8:10]))
	if r.Header.Major >= 2 && len(raw) >= 12 {
		headerEnd = 12 + int(binary.LittleEndian.Uint32(raw[8:12]))
	}
	itemSize := map[string]int{"|u1": 1, "<i4": 4, "<i8": 8, "<f4": 4, "<f8": 8}[r.Header.Descr.Type]
	if headerEnd > len(raw) {
		return nil, nil, fmt.Errorf("%s: header of %d bytes in a file of %d", path, headerEnd, len(raw))
	}
	if got := len(raw) - headerEnd; got != n*itemSize {
		return nil, nil, fmt.Errorf("%s: %d data bytes, want %d for shape %v (truncated or damaged file)", path, got, n*itemSize, shape)
	}
	if r.Header.Descr.Type == "<i4" { // int32 ids: widen
		var v []int32
		v = make([]int32, n)
		if err := r.Read(&v); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		out := make([]T, n)
		for i, x := range v {
			out[i] = T(x)
		}
		return out, shape, nil
	}
	data = make([]T, n)
	if n > 0 {
		if err := r.Read(&data); err != nil {
			return nil, nil, fmt.Errorf("%s: truncated or unreadable data (%d values expected): %w", path, n, err)
		}
	}
	return data, shape, nil
}

// WriteResponsesNPY writes a float32 [rows × cols] array (responses, predictions) as a .npy file, atomically.
func WriteResponsesNPY(path string, rows, cols int, data []float32) error {
	return writeNPY(path, []int{rows, cols}, data)
}

// ReadResponsesNPY reads a float32 2-D .npy file written by WriteResponsesNPY (or NumPy) and returns its shape.
func ReadResponsesNPY(path string) (data []float32, rows, cols int, err error) {
	data, shape, err := readNPY[float32](path)
	if err != nil {
		return nil, 0, 0, err
	}
	if len(shape) != 2 {
		return nil, 0, 0, fmt.Errorf("%s: shape %v, want [rows, cols]", path, shape)
	}
	return data, shape[0], shape[1], nil
}
