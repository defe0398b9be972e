package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBashCompletion sources `homeytray completion bash` in a real bash and asks it to complete
// command lines as the shell does on TAB: the completion function calls the binary back.
func TestBashCompletion(t *testing.T) {
	// Cobra's script uses the bash-completion package's helpers, as every interactive bash has.
	const helpers = "/usr/share/bash-completion/bash_completion"
	bash, err := exec.LookPath("bash")
	if _, serr := os.Stat(helpers); err != nil || serr != nil {
		needOrSkip(t, "bash with bash-completion", "install bash-completion (.ci/deps.sh does)")
	}
	dir := t.TempDir()
	if err := os.Symlink(binary, filepath.Join(dir, "homeytray")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		line string
		want []string
		not  []string
	}{
		{"homeytray to", []string{"token"}, []string{"devices"}},
		{"homeytray token --format ", []string{"raw", "header", "json", "env", "curl"}, nil},
		{"homeytray token --fo", []string{"--format"}, nil},
		{"homeytray autostart ", []string{"on", "off", "status"}, nil},
		{"homeytray local ", []string{"add", "list", "remove"}, nil},
		{"homeytray completion ", []string{"bash", "zsh", "fish", "powershell"}, nil},
	} {
		// COMP_* as bash sets them for a TAB at the end of the line.
		script := `source ` + helpers + `; source <(homeytray completion bash)
line="$1"; read -ra COMP_WORDS <<<"$line"; [[ "$line" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMP_LINE="$line"; COMP_POINT=${#line}
__start_homeytray homeytray "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", script, "bash", c.line)
		cmd.Env = append(cleanEnviron(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"),
			"XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_RUNTIME_DIR="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%q: %v\n%s", c.line, err, out)
			continue
		}
		got := map[string]bool{}
		for _, w := range strings.Fields(string(out)) {
			got[w] = true
		}
		for _, w := range c.want {
			if !got[w] {
				t.Errorf("%q<TAB> does not offer %q: %q", c.line, w, out)
			}
		}
		for _, w := range c.not {
			if got[w] {
				t.Errorf("%q<TAB> offers %q", c.line, w)
			}
		}
	}
}
