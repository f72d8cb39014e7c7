package study

import "testing"

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
		if s.Neurons <= 0 || s.Sessions <= 0 || s.Sessions > s.Neurons {
			t.Errorf("scale %s: %d neurons in %d sessions", name, s.Neurons, s.Sessions)
		}
	}
	if _, err := LookupScale("huge"); err == nil {
		t.Error("LookupScale accepted an unknown scale")
	}
	if s, err := LookupScale("mini"); err != nil || s.Model.WidthDivisor != 16 {
		t.Errorf("LookupScale(mini) = %+v, %v", s, err)
	}
}
