package data

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"unicode/utf16"
)

// Qt resource (.rcc) files: GCompris ships its activities' pictures inside them. The format (Qt's rcc, versions 1–3):
// a "qres" header (version, tree, data and names offsets, and for version 3 a flags word), a tree of 14-byte
// (version 1) or 22-byte entries (name offset, flags, then child count and first child for a directory, or
// territory, language and data offset for a file), names as UTF-16BE with a length and a hash, and data blocks of a
// 4-byte length followed by the bytes (zlib-compressed after a 4-byte uncompressed length when flag 1 is set).

const (
	rccCompressed = 0x01
	rccDirectory  = 0x02
	rccZstd       = 0x04
)

// RCCFile is one file inside a Qt resource archive.
type RCCFile struct {
	Path string // e.g. "/gcompris/src/activities/erase/resource/bee.webp"
	data []byte
	flag uint16
}

// Bytes returns the file's content, decompressed.
func (f RCCFile) Bytes() ([]byte, error) {
	switch {
	case f.flag&rccZstd != 0:
		return nil, fmt.Errorf("%s: zstd-compressed resource, not supported", f.Path)
	case f.flag&rccCompressed != 0:
		if len(f.data) < 4 {
			return nil, fmt.Errorf("%s: truncated compressed resource", f.Path)
		}
		r, err := zlib.NewReader(bytes.NewReader(f.data[4:]))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		defer r.Close()
		return io.ReadAll(r)
	default:
		return f.data, nil
	}
}

// ReadRCC lists the files of a Qt resource archive.
func ReadRCC(path string) ([]RCCFile, error) {
	d, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	files, err := parseRCC(d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return files, nil
}

func parseRCC(d []byte) (files []RCCFile, err error) {
	if len(d) < 20 || string(d[:4]) != "qres" {
		return nil, fmt.Errorf("not a Qt resource file (no qres header)")
	}
	be := binary.BigEndian
	version := be.Uint32(d[4:])
	tree, dataOff, names := int(be.Uint32(d[8:])), int(be.Uint32(d[12:])), int(be.Uint32(d[16:]))
	if version < 1 || version > 3 {
		return nil, fmt.Errorf("unsupported rcc version %d", version)
	}
	entry := 14
	if version >= 2 {
		entry = 22
	}
	defer func() {
		if r := recover(); r != nil { // out-of-range offsets in a damaged file
			files, err = nil, fmt.Errorf("damaged resource file: %v", r)
		}
	}()
	name := func(off int) string {
		p := names + off
		n := int(be.Uint16(d[p:]))
		u := make([]uint16, n)
		for i := range u {
			u[i] = be.Uint16(d[p+6+2*i:])
		}
		return string(utf16.Decode(u))
	}
	var walk func(i int, prefix string, depth int)
	walk = func(i int, prefix string, depth int) {
		if depth > 64 {
			panic("directory tree too deep")
		}
		e := tree + i*entry
		flags := be.Uint16(d[e+4:])
		nm := ""
		if i > 0 {
			nm = name(int(be.Uint32(d[e:])))
		}
		if flags&rccDirectory != 0 {
			count, first := int(be.Uint32(d[e+6:])), int(be.Uint32(d[e+10:]))
			for c := range count {
				walk(first+c, prefix+nm+"/", depth+1)
			}
			return
		}
		p := dataOff + int(be.Uint32(d[e+10:]))
		n := int(be.Uint32(d[p:]))
		files = append(files, RCCFile{Path: prefix + nm, data: d[p+4 : p+4+n], flag: flags})
	}
	walk(0, "", 0)
	return files, nil
}
