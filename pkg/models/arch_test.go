package models

import "testing"

// The authors' Baseline prints "Model with 39737352 parameters." (its training log); with a one-channel first layer
// the count drops by 2·64·9 = 1,152.
func TestPaperParameterCount(t *testing.T) {
	if got := PaperVGG.ClassifierParams(); got != 39_737_352 {
		t.Errorf("paper VGG-19-BN parameters = %d, want 39,737,352", got)
	}
	one := PaperVGG
	one.InChannels = 1
	if got := one.ClassifierParams(); got != 39_736_200 {
		t.Errorf("one-channel VGG-19-BN parameters = %d, want 39,736,200", got)
	}
}

func TestSharedBlockEndsAtConv3_1(t *testing.T) {
	layers := PaperVGG.Layers(458)
	var lastShared, readout Layer
	convs := 0
	for _, l := range layers {
		if l.Block == Shared {
			lastShared = l
		}
		if l.Kind == "conv3x3+bn+relu" {
			convs++
		}
		if l.Block == Readout {
			readout = l
		}
	}
	if convs != 16 {
		t.Errorf("%d convolutions, want 16", convs)
	}
	if lastShared.Name != "conv3_1" || lastShared.OutChannels != 256 || lastShared.Size != 16 {
		t.Errorf("shared block ends at %+v, want conv3_1 with 256×16×16 output", lastShared)
	}
	if readout.InChannels != 256 || readout.Params != 261*458 {
		t.Errorf("readout = %+v, want 256 input channels and 261 parameters per neuron", readout)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []VGGConfig{
		{WidthDivisor: 3, InputSize: 64, InChannels: 3, NumClasses: 10},
		{WidthDivisor: 8, InputSize: 48, InChannels: 3, NumClasses: 10},
		{WidthDivisor: 8, InputSize: 32, InChannels: 2, NumClasses: 10},
		{WidthDivisor: 8, InputSize: 32, InChannels: 1, NumClasses: 1},
	} {
		if c.Validate() == nil {
			t.Errorf("%+v: Validate accepted an invalid configuration", c)
		}
	}
	if err := (VGGConfig{WidthDivisor: 8, InputSize: 32, InChannels: 3, NumClasses: 10}).Validate(); err != nil {
		t.Error(err)
	}
}
