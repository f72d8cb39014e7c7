package data

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/robustvision/cotrain/pkg/imgproc"
)

// The photographs come from GCompris (Debian package gcompris-qt-data), whose activities ship photographs of
// animals, fish, tools, buildings and landscapes (WebP images inside Qt resource archives), each with its author and
// licence in the package's debian/copyright. photoSources says which folders hold photographs and what they show;
// drawings, digits and letters are left out.
var photoSources = []struct {
	archive, folder, category string
}{
	{"categorization.rcc", "/gcompris/src/activities/categorization/resource/images/tools", "object"},
	{"categorization.rcc", "/gcompris/src/activities/categorization/resource/images/others", "object"},
	{"categorization.rcc", "/gcompris/src/activities/categorization/resource/images/renewable", "scene"},
	{"categorization.rcc", "/gcompris/src/activities/categorization/resource/images/monuments", "building"},
	{"categorization.rcc", "/gcompris/src/activities/categorization/resource/images/fishes", "animal"},
	{"explore_monuments.rcc", "/gcompris/src/activities/explore_monuments/resource", "building"},
	{"explore_world_animals.rcc", "/gcompris/src/activities/explore_world_animals/resource/animals", "animal"},
	{"explore_farm_animals.rcc", "/gcompris/src/activities/explore_farm_animals/resource/animals", "animal"},
	{"erase.rcc", "/gcompris/src/activities/erase/resource", "animal"},
}

// BuildManifest lists the photographs of a gcompris-qt-data .deb file with their licences and checksums (the
// maintainers' tool behind data/photos.tsv: `cotrain data manifest`).
func BuildManifest(deb string) ([]Photo, error) {
	info, err := exec.Command("dpkg-deb", "-f", deb, "Package", "Version").Output()
	if err != nil {
		return nil, fmt.Errorf("dpkg-deb -f %s: %w", deb, err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(info), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	work, err := os.MkdirTemp("", "cotrain-manifest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	if out, err := exec.Command("dpkg-deb", "-x", deb, work).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("dpkg-deb -x %s: %v: %s", deb, err, out)
	}
	copyright, err := os.ReadFile(filepath.Join(work, "usr/share/doc", fields["Package"], "copyright"))
	if err != nil {
		return nil, err
	}
	stanzas := parseCopyright(copyright)
	var photos []Photo
	cache := map[string][]RCCFile{}
	for _, src := range photoSources {
		archive := "usr/share/gcompris-qt/rcc/" + src.archive
		files, ok := cache[archive]
		if !ok {
			if files, err = ReadRCC(filepath.Join(work, archive)); err != nil {
				return nil, err
			}
			cache[archive] = files
		}
		for _, f := range files {
			if !strings.HasPrefix(f.Path, src.folder+"/") || path.Ext(f.Path) != ".webp" {
				continue
			}
			content, err := f.Bytes()
			if err != nil {
				return nil, err
			}
			if _, err := imgproc.Decode(content); err != nil {
				continue // not decodable here: leave it out
			}
			rel := strings.TrimPrefix(f.Path, "/gcompris/")
			license, holder := stanzas.lookup(rel)
			parts := strings.Split(strings.TrimPrefix(f.Path, "/gcompris/src/activities/"), "/")
			id := parts[0] + "-" + strings.TrimSuffix(parts[len(parts)-1], ".webp")
			if len(parts) > 3 {
				id = parts[0] + "-" + parts[len(parts)-2] + "-" + strings.TrimSuffix(parts[len(parts)-1], ".webp")
			}
			photos = append(photos, Photo{ID: sanitize(id), Category: src.category, Package: fields["Package"],
				Version: fields["Version"], Archive: archive, Path: f.Path, License: license, Copyright: holder,
				SHA256: sha256Hex(content)})
		}
	}
	sort.Slice(photos, func(i, j int) bool { return photos[i].ID < photos[j].ID })
	return photos, nil
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

type copyrightStanza struct {
	patterns           []string
	license, copyright string
}

type copyrightFile []copyrightStanza

// parseCopyright reads the Files/Copyright/License fields of a machine-readable debian/copyright file.
func parseCopyright(data []byte) copyrightFile {
	var out copyrightFile
	var cur *copyrightStanza
	var field string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			cur, field = nil, ""
			continue
		}
		if line[0] == ' ' || line[0] == '\t' { // continuation
			if cur != nil && field == "Files" {
				cur.patterns = append(cur.patterns, strings.Fields(line)...)
			}
			continue
		}
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		field = k
		switch k {
		case "Files":
			out = append(out, copyrightStanza{patterns: strings.Fields(v)})
			cur = &out[len(out)-1]
		case "Copyright":
			if cur != nil {
				cur.copyright = v
			}
		case "License":
			if cur != nil {
				cur.license = v
			}
		}
	}
	return out
}

// lookup returns the licence and copyright holder of a file: the last stanza whose pattern matches wins (Debian's
// rule). Patterns name the upstream .jpg/.png files that the package ships converted to .webp, so the extension is
// ignored when the pattern has one.
func (c copyrightFile) lookup(file string) (license, holder string) {
	stem := strings.TrimSuffix(file, path.Ext(file))
	for _, s := range c {
		for _, p := range s.patterns {
			target := file
			if path.Ext(p) != "" && !strings.ContainsAny(path.Ext(p), "*?") {
				p, target = strings.TrimSuffix(p, path.Ext(p)), stem
			}
			if ok, _ := path.Match(p, target); ok || p == "*" {
				license, holder = s.license, s.copyright
			}
		}
	}
	return strings.ReplaceAll(license, "\t", " "), strings.ReplaceAll(holder, "\t", " ")
}
