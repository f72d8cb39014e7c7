package study

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/robustvision/cotrain/pkg/scales"
)

// Each field of each stage's configuration, changed in turn, makes exactly that stage and the stages made from it
// (directly or not) stale: every field enters the key, and nothing else's key depends on it.
func TestKeysFollowEveryField(t *testing.T) {
	for _, s := range []scales.Scale{scales.Smoke, scales.GPU} {
		r := &Runner{Scale: s}
		stages := Stages(s)
		configs := map[string]Config{}
		for _, st := range stages {
			cfg, err := r.Config(st)
			if err != nil {
				t.Fatal(err)
			}
			configs[st.ID] = cfg
		}
		base := keysOf(t, stages, configs)
		fields := 0
		for _, st := range stages {
			want := append(dependants(stages, st.ID), st.ID)
			slices.Sort(want)
			for _, path := range leaves(reflect.ValueOf(configs[st.ID]), "") {
				changed := deepCopy(reflect.ValueOf(configs[st.ID])).Interface().(Config)
				mutate(reflect.ValueOf(&changed).Elem(), path)
				others := map[string]Config{}
				for id, c := range configs {
					others[id] = c
				}
				others[st.ID] = changed
				keys := keysOf(t, stages, others)
				var stale []string
				for id, k := range keys {
					if k != base[id] {
						stale = append(stale, id)
					}
				}
				slices.Sort(stale)
				if !slices.Equal(stale, want) {
					t.Errorf("%s scale, %s: changing %s makes %v stale, want %v", s.Name, st.ID, path, stale, want)
				}
				fields++
			}
		}
		t.Logf("%s scale: %d fields over %d stages", s.Name, fields, len(stages))
		if fields < 10*len(stages) {
			t.Errorf("%s scale: only %d fields over %d stages", s.Name, fields, len(stages))
		}
	}
}

// Every setting of a scale that the study depends on is in some stage's key: changing it makes some stage stale.
func TestScaleSettingsReachTheKeys(t *testing.T) {
	// Fields that decide which stages exist or what the cache keeps (not what a stage computes), or only describe
	// the scale.
	structural := map[string]bool{"Name": true, "Purpose": true, "Description": true, "Seeds": true, "SweepSeeds": true,
		"SweepRatios": true, "ResolutionPPDs": true, "Models": true, "SideSeeds": true,
		"Neurons": true, "Sessions": true, // Neurons and Sessions are the recording's, set in V1
		"ResultsOnly": true} // what the cache keeps (checkpoints or not), not what a stage computes
	base, err := (&Runner{Scale: scales.Mini}).Keys()
	if err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeOf(scales.Mini)
	for i := range typ.NumField() {
		f := typ.Field(i)
		if structural[f.Name] {
			continue
		}
		s := deepCopy(reflect.ValueOf(scales.Mini)).Interface().(scales.Scale)
		v := reflect.ValueOf(&s).Elem().Field(i)
		paths := leaves(v, f.Name)
		if len(paths) == 0 {
			t.Errorf("scale field %s: nothing to change", f.Name)
			continue
		}
		mutate(reflect.ValueOf(&s).Elem(), paths[0])
		keys, err := (&Runner{Scale: s}).Keys()
		if err != nil {
			t.Fatal(err)
		}
		same := true
		for id, k := range keys {
			same = same && base[id] == k
		}
		if same {
			t.Errorf("changing the scale's %s (%s) changes no stage's key", f.Name, paths[0])
		}
	}
}

func keysOf(t *testing.T, stages []Stage, configs map[string]Config) map[string]string {
	t.Helper()
	keys := map[string]string{}
	for _, st := range stages {
		k, err := Key(configs[st.ID], st.Deps, keys)
		if err != nil {
			t.Fatal(err)
		}
		keys[st.ID] = k
	}
	return keys
}

// dependants are the stages made from id, directly or not.
func dependants(stages []Stage, id string) []string {
	made := map[string]bool{id: true}
	var out []string
	for _, st := range stages {
		for _, d := range st.Deps {
			if made[d] && !made[st.ID] {
				made[st.ID] = true
				out = append(out, st.ID)
			}
		}
	}
	return out
}

// leaves are the paths (field names, indices and map keys, joined by dots) of every scalar in v.
func leaves(v reflect.Value, prefix string) []string {
	var out []string
	join := func(p string) string {
		if prefix == "" {
			return p
		}
		return prefix + "." + p
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			out = append(out, leaves(v.Elem(), prefix)...)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				out = append(out, leaves(v.Field(i), join(v.Type().Field(i).Name))...)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			out = append(out, leaves(v.Index(i), join(fmt.Sprint(i)))...)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			out = append(out, join(fmt.Sprint(k.Interface())))
		}
	default:
		out = append(out, prefix)
	}
	return out
}

// mutate changes the scalar at path in v (addressable).
func mutate(v reflect.Value, path string) {
	parts := splitPath(path)
	for i, p := range parts {
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			v = v.Elem()
		}
		switch v.Kind() {
		case reflect.Struct:
			v = v.FieldByName(p)
		case reflect.Slice, reflect.Array:
			var k int
			fmt.Sscan(p, &k)
			v = v.Index(k)
		case reflect.Map:
			for _, k := range v.MapKeys() {
				if fmt.Sprint(k.Interface()) == p {
					e := reflect.New(v.Type().Elem()).Elem()
					e.Set(v.MapIndex(k))
					mutate(e, joinPath(parts[i+1:]))
					v.SetMapIndex(k, e)
					return
				}
			}
			panic("no map key " + p)
		}
	}
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(v.Float()*1.5 + 0.25)
	case reflect.String:
		v.SetString(v.String() + "x")
	default:
		panic(fmt.Sprintf("cannot change %s (%s)", path, v.Kind()))
	}
}

func splitPath(path string) []string {
	if path == "" {
		return nil
	}
	var out []string
	start := 0
	for i := range len(path) {
		if path[i] == '.' {
			out = append(out, path[start:i])
			start = i + 1
		}
	}
	return append(out, path[start:])
}

func joinPath(parts []string) string {
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += "."
		}
		out += p
	}
	return out
}

// deepCopy copies v, with new slices, maps and pointers.
func deepCopy(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(deepCopy(v.Elem()))
			out.Set(p)
		}
	case reflect.Struct:
		out.Set(v)
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				out.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
	case reflect.Slice:
		if !v.IsNil() {
			s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			for i := range v.Len() {
				s.Index(i).Set(deepCopy(v.Index(i)))
			}
			out.Set(s)
		}
	case reflect.Array:
		for i := range v.Len() {
			out.Index(i).Set(deepCopy(v.Index(i)))
		}
	case reflect.Map:
		if !v.IsNil() {
			m := reflect.MakeMap(v.Type())
			for _, k := range v.MapKeys() {
				m.SetMapIndex(k, deepCopy(v.MapIndex(k)))
			}
			out.Set(m)
		}
	default:
		out.Set(v)
	}
	return out
}
