package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// notRunHere are the documented commands the test does not run, each with where it is tested instead.
var notRunHere = map[string]string{
	"bash .ci/":                    "the test and main commands are CI's own",
	"jupyter notebook":             "a server: the browser test (notebooks/browser/test.mjs) starts one and runs every notebook",
	"docker ":                      "no container daemon on these machines",
	"kubectl ":                     "no Kubernetes cluster here: TestKubernetesManifest checks the manifests",
	"cotrain submit -engine slurm": "needs a Slurm cluster: TestSlurmSmokeStudy submits the smoke study to a real one",
}

// Every example command of the README, docs/ and the READMEs of data/ and docker/ (the lines of their ```sh blocks)
// runs as written, at the smoke scale (-scale and cache paths of other scales become smoke's), in a scratch copy of
// the repository with the smoke cache; the commands listed in notRunHere are tested elsewhere.
func TestDocumentedCommandsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the documented commands")
	}
	if _, err := os.Stat("../../data/cache/smoke/analysis/robustness/stage.json"); err != nil {
		t.Skip("the smoke study is not in the cache (cotrain reproduce -scale smoke; .ci/test runs it first)")
	}
	root := copySmokeRepo(t)
	bin := filepath.Join(t.TempDir(), "cotrain")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md", "../../data/README.md", "../../docker/README.md")
	block := regexp.MustCompile("(?s)```sh\n(.*?)```")
	otherScale := regexp.MustCompile(`(-scale |data/cache/)(mini|gpu|paper)\b`)
	ran := 0
	for _, file := range files {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range block.FindAllStringSubmatch(string(text), -1) {
			for _, line := range strings.Split(strings.TrimSpace(m[1]), "\n") {
				cmd, _, _ := strings.Cut(line, " #")
				cmd = strings.TrimSpace(cmd)
				if cmd == "" || skipped(cmd) {
					continue
				}
				cmd = strings.Replace(cmd, "go run ./cmd/cotrain", bin, 1)
				cmd = regexp.MustCompile(`^cotrain `).ReplaceAllString(cmd, bin+" ")
				cmd = otherScale.ReplaceAllString(cmd, "${1}smoke")
				c := exec.Command("bash", "-c", cmd)
				c.Dir = root
				c.Env = append(os.Environ(), "GOMLX_NO_AUTO_INSTALL=1")
				if out, err := c.CombinedOutput(); err != nil {
					t.Errorf("%s: %q (run as %q) failed: %v\n%s", filepath.Base(file), line, cmd, err, tail(out))
				}
				ran++
			}
		}
	}
	if ran < 10 {
		t.Errorf("only %d documented commands ran", ran)
	}
}

func skipped(cmd string) bool {
	for prefix := range notRunHere {
		c := strings.TrimPrefix(cmd, "go run ./cmd/")
		if strings.HasPrefix(c, prefix) && !strings.Contains(c, "-dry-run") {
			return true
		}
	}
	return false
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
