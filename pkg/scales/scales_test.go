package scales

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScalesAreValid(t *testing.T) {
	for name, s := range Scales {
		if s.Name != name {
			t.Errorf("scale %q registered as %q", s.Name, name)
		}
		if err := s.Model.Validate(); err != nil {
			t.Errorf("scale %s: %v", name, err)
		}
		if err := s.V1.Validate(); err != nil {
			t.Errorf("scale %s: %v", name, err)
		}
		if s.V1.Neurons != s.Neurons || s.V1.Sessions != s.Sessions || s.V1.ImageSize != s.Model.InputSize {
			t.Errorf("scale %s: V1 protocol %+v disagrees with the scale", name, s.V1)
		}
		if shown := s.V1.TrainImages + s.V1.TestImages; s.Data.HoldoutPerClass*10 < shown {
			t.Errorf("scale %s: %d images held out for the V1 experiment, which shows %d", name, 10*s.Data.HoldoutPerClass, shown)
		}
		if s.Neurons <= 0 || s.Sessions <= 0 || s.Sessions > s.Neurons {
			t.Errorf("scale %s: %d neurons in %d sessions", name, s.Neurons, s.Sessions)
		}
	}
	if _, err := Lookup("huge"); err == nil {
		t.Error("Lookup accepted an unknown scale")
	}
	if s, err := Lookup("mini"); err != nil || s.Model.WidthDivisor != 16 {
		t.Errorf("Lookup(mini) = %+v, %v", s, err)
	}
}

// The root is found from any folder inside the repository, and outside it is a clear error.
func TestFindRoot(t *testing.T) {
	t.Setenv("COTRAIN_ROOT", "")
	root, err := FindRoot("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "data", "photos.tsv")); err != nil {
		t.Errorf("root %s has no data/photos.tsv", root)
	}
	if again, err := FindRoot(filepath.Join(root, "pkg", "study")); err != nil || again != root {
		t.Errorf("from pkg/study: %s, %v", again, err)
	}
	if _, err := FindRoot(t.TempDir()); err == nil || !strings.Contains(err.Error(), "COTRAIN_ROOT") {
		t.Errorf("outside the repository: %v", err)
	}
}
