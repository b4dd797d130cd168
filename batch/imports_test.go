package batch

import (
	"os/exec"
	"strings"
	"testing"
)

// TestTheSDKDoesNotImportTheBatchDependencies keeps what an importer of the SDK downloads
// small: the SQLite driver, the rate limiter and the progress bar are for batch and the
// command line only.
func TestTheSDKDoesNotImportTheBatchDependencies(t *testing.T) {
	const module = "github.com/payoutkit/dots-go"
	out, err := exec.Command("go", "list", "-deps", module, module+"/api", module+"/gen", module+"/mock", module+"/webhook").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 {
		t.Fatalf("go list named only %d packages: %v", len(deps), deps)
	}
	for _, p := range deps {
		for _, banned := range []string{"modernc.org/", "github.com/schollz/", "golang.org/x/time/", "golang.org/x/term", module + "/batch"} {
			if strings.HasPrefix(p, banned) {
				t.Errorf("the SDK's packages import %s", p)
			}
		}
	}
}
