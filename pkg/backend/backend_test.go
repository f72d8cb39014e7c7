package backend

import (
	"strings"
	"testing"
)

func TestDefaultIsPureGo(t *testing.T) {
	t.Setenv(EnvVar, "")
	if got := Resolve(""); got != Default {
		t.Fatalf("Resolve(\"\") = %q, want %q", got, Default)
	}
	b, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if !strings.HasPrefix(b.Name(), "cpu (cotrain executor") {
		t.Errorf("default backend is %q, want the cpu backend (the project's executor over the pure-Go backend)", b.Name())
	}
	if err := SelfTest(b); err != nil {
		t.Error(err)
	}
	info := Describe("", b)
	if info.Config != "cpu" || len(info.Devices) == 0 {
		t.Errorf("Describe = %+v, want config cpu and at least one device", info)
	}
}

func TestEnvironmentVariableSelects(t *testing.T) {
	t.Setenv(EnvVar, "go")
	if got := Resolve(""); got != "go" {
		t.Errorf("Resolve(\"\") with %s=go = %q", EnvVar, got)
	}
	if got := Resolve("cpu"); got != "cpu" {
		t.Errorf("an explicit config must win over %s: got %q", EnvVar, got)
	}
	t.Setenv(EnvVar, "nonsense")
	if _, err := New(""); err == nil || !strings.Contains(err.Error(), "nonsense") {
		t.Errorf("New with %s=nonsense: err = %v, want an error naming the value", EnvVar, err)
	}
}

func TestUnusableChoicesListOptions(t *testing.T) {
	for _, config := range []string{"tpu", "xla", "xla:relative/plugin.so", "xla:/nonexistent/pjrt_plugin.so", "cpu:extra"} {
		_, err := New(config)
		if err == nil {
			t.Errorf("New(%q) succeeded, want an error", config)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, config) || !strings.Contains(msg, "accepted values") || !strings.Contains(msg, "cpu") {
			t.Errorf("New(%q) error does not name the value and list the options:\n%s", config, msg)
		}
	}
}

// With auto-install off, asking for a plugin that is not installed must fail quickly instead of downloading it.
func TestNoDownloadAtRunTime(t *testing.T) {
	if !xlaCompiledIn {
		t.Skip("XLA not compiled in")
	}
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	_, err := New("xla:cuda")
	if err == nil {
		t.Skip("a CUDA PJRT plugin is installed on this machine")
	}
	if !strings.Contains(err.Error(), "nothing is downloaded") {
		t.Errorf("xla:cuda without a plugin: %v", err)
	}
}
