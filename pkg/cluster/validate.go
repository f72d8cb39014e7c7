package cluster

import (
	"fmt"
	"regexp"
	"strings"
)

// What reaches a job script or a manifest is checked first: a value that the scheduler would read as more than one
// value (a newline in a partition name becomes a line of the script that runs in every job) is a usage error naming
// the flag, never a job.

var (
	// Slurm names (partitions, accounts, QOS): letters, digits, '_', '-' and '.'; a partition may be a
	// comma-separated list of them.
	slurmName      = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	slurmPartition = regexp.MustCompile(`^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$`)
	// A generic resource: name[:type][:count][,…], e.g. gpu:1 or gpu:a100:2.
	slurmGres = regexp.MustCompile(`^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)*(,[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)*)*$`)
	// An OCI image reference (distribution/reference's grammar): [registry[:port]/]path[:tag][@digest].
	ociReference = regexp.MustCompile(`^` +
		`(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?/)?` +
		`[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*` +
		`(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?` +
		`(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`)
	// A Kubernetes name: a DNS-1123 label (claims) or subdomain (namespaces are labels too).
	dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

// checkValue returns a usage error naming flag when value (if not empty) does not match re.
func checkValue(flag, value, what string, re *regexp.Regexp, maxLen int) error {
	if value == "" {
		return nil
	}
	if len(value) > maxLen || !re.MatchString(value) {
		return fmt.Errorf("-%s %q: want %s", flag, value, what)
	}
	return nil
}

// Validate checks every value of the Slurm submission that reaches a job script.
func (s Slurm) Validate() error {
	for _, c := range []struct {
		flag, value, what string
		re                *regexp.Regexp
	}{
		{"partition", s.Partition, "Slurm partition names (letters, digits, _ - .), comma-separated", slurmPartition},
		{"gres", s.Gres, "a Slurm generic resource such as gpu:1 or gpu:a100:2", slurmGres},
		{"account", s.Account, "a Slurm account name (letters, digits, _ - .)", slurmName},
		{"qos", s.QOS, "a Slurm QOS name (letters, digits, _ - .)", slurmName},
	} {
		if err := checkValue(c.flag, c.value, c.what, c.re, 256); err != nil {
			return err
		}
	}
	for _, p := range []struct{ what, path string }{{"the repository", s.Root}, {"the cache", s.CacheDir},
		{"the cotrain binary", s.Cotrain}} {
		if strings.ContainsAny(p.path, "\n\r\"\x00") {
			return fmt.Errorf("%s's path %q holds a newline, a quote or a NUL, which a batch script cannot carry", p.what, p.path)
		}
	}
	return checkBackend(s.Backend)
}

// Validate checks every value of the Kubernetes manifests.
func (k K8s) Validate() error {
	if k.Image == "" || k.Claim == "" {
		return fmt.Errorf("kubernetes manifests need an image (-image) and a volume claim (-claim)")
	}
	if err := checkValue("image", k.Image, "an OCI image reference such as registry.example.org/lab/cotrain-cuda:1.0",
		ociReference, 255); err != nil {
		return err
	}
	if err := checkValue("claim", k.Claim, "a PersistentVolumeClaim name (DNS-1123: lower-case letters, digits and -)",
		dns1123Label, 63); err != nil {
		return err
	}
	if err := checkValue("namespace", k.Namespace, "a namespace name (DNS-1123: lower-case letters, digits and -)",
		dns1123Label, 63); err != nil {
		return err
	}
	if k.Parallelism < 0 {
		return fmt.Errorf("-parallelism %d: want 0 (all of a wave) or more", k.Parallelism)
	}
	return checkBackend(k.Backend)
}

// checkBackend: a backend name, or xla:<absolute path of a plugin> (quoted in the scripts; no newline or NUL).
func checkBackend(b string) error {
	if strings.ContainsAny(b, "\n\r\x00") {
		return fmt.Errorf("-backend %q: holds a newline or NUL", b)
	}
	return nil
}
