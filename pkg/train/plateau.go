package train

import "math"

// Plateau is the authors' learning-rate schedule and early stopping (the authors' trainer): PyTorch's
// ReduceLROnPlateau in mode "max" on a validation metric together with nntransfer's early stopping. Their net effect,
// reproduced here: after every epoch the metric is compared with the best so far; after Patience+1 consecutive epochs
// without an improvement the best weights are restored and the learning rate is multiplied by Factor (not below
// MinLR); after MaxReductions such events, or MaxEpochs epochs, training stops (and the best weights are the result).
type Plateau struct {
	Factor        float64 // 0.4 Baseline, 0.3 multi-task, 0.5 V1 predictor
	Patience      int     // 5
	Threshold     float64 // 1e-4 (1e-6 for the predictor)
	RelThreshold  bool    // PyTorch's threshold_mode "rel" (the default) or "abs"
	MinLR         float64 // 1e-4
	MaxReductions int     // 5
	MaxEpochs     int     // 400 Baseline, 407 multi-task, 150 predictor

	LR         float64 // current learning rate
	Best       float64 // best metric so far
	BestEpoch  int     // epoch of the best metric (0 = before training)
	Bad        int     // consecutive epochs without improvement
	Reductions int
	Started    bool
}

// PaperPlateau returns the schedule of the classification and multi-task trainings with the given factor.
func PaperPlateau(lr, factor float64, maxEpochs int) *Plateau {
	return &Plateau{Factor: factor, Patience: 5, Threshold: 1e-4, RelThreshold: true, MinLR: 1e-4, MaxReductions: 5,
		MaxEpochs: maxEpochs, LR: lr}
}

// Decision says what to do after an epoch.
type Decision struct {
	Improved    bool    // a new best: save these weights as the best
	RestoreBest bool    // reload the best weights
	NewLR       float64 // the learning rate from now on (equal to the old one if unchanged)
	Stop        bool    // training is over (restore the best weights)
}

// Start records the metric measured before the first epoch (the authors validate once before training).
func (p *Plateau) Start(metric float64) {
	p.Best, p.BestEpoch, p.Started = metric, 0, true
}

func (p *Plateau) better(metric float64) bool {
	if p.RelThreshold {
		return metric > p.Best*(1+p.Threshold) // PyTorch: a > best·(1 + threshold)
	}
	return metric > p.Best+p.Threshold
}

// Step takes the validation metric after epoch (1-based) and decides.
func (p *Plateau) Step(epoch int, metric float64) Decision {
	if !p.Started {
		p.Start(math.Inf(-1))
	}
	d := Decision{NewLR: p.LR}
	if p.better(metric) {
		p.Best, p.BestEpoch, p.Bad = metric, epoch, 0
		d.Improved = true
	} else {
		p.Bad++
	}
	if p.Bad > p.Patience {
		p.Bad = 0
		p.Reductions++
		d.RestoreBest = true
		if next := math.Max(p.LR*p.Factor, p.MinLR); p.LR-next > 1e-8 {
			p.LR = next
		}
		d.NewLR = p.LR
		if p.Reductions >= p.MaxReductions {
			d.Stop = true
		}
	}
	if p.MaxEpochs > 0 && epoch >= p.MaxEpochs {
		d.Stop = true
	}
	return d
}
