package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// A peerSource is a compiled peer: sources written to the user's cache
// directory and compiled there the first time a run needs them, kept under
// the hash of everything that goes into the build.
type peerSource struct {
	name     string            // the program, also the cache directory's prefix
	compiler string            // "cc" or "g++"
	files    map[string][]byte // file name -> text; main is compiled, the rest included
	main     string
	flags    []string // before the source
	libs     []string // after it
	// needs names the headers and libraries the peer is built on, each
	// with what to install; a compile that fails on one of them means the
	// peer is unavailable here, not broken.
	needs map[string]string
}

// build compiles the peer once and returns its path.
func (p peerSource) build() (string, error) {
	cc, err := exec.LookPath(p.compiler)
	if err != nil {
		return "", fmt.Errorf("%w: no %s (apt-get install %s)", ErrUnavailable, p.compiler, p.install())
	}
	h := sha256.New()
	names := make([]string, 0, len(p.files))
	for n := range p.files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s %d\n", n, len(p.files[n]))
		h.Write(p.files[n])
	}
	fmt.Fprintln(h, p.compiler, p.flags, p.libs)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "shmkit", p.name+"-"+hex.EncodeToString(h.Sum(nil)[:8]))
	bin := filepath.Join(dir, p.name)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), p.files[n], 0o644); err != nil {
			return "", err
		}
	}
	tmp := bin + fmt.Sprintf(".%d", os.Getpid())
	args := append(append(append([]string{}, p.flags...), "-o", tmp, filepath.Join(dir, p.main)), p.libs...)
	var stderr bytes.Buffer
	cmd := exec.Command(cc, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		for need, pkg := range p.needs {
			if bytes.Contains(stderr.Bytes(), []byte(need)) {
				return "", fmt.Errorf("%w: %s: no %s (apt-get install %s)", ErrUnavailable, p.name, need, pkg)
			}
		}
		return "", fmt.Errorf("%s %s: %w: %s", p.compiler, p.main, err, stderr.Bytes())
	}
	return bin, os.Rename(tmp, bin)
}

// install lists the packages the peer needs, for a message.
func (p peerSource) install() string {
	pkgs := map[string]bool{map[string]string{"cc": "gcc"}[p.compiler]: true}
	if p.compiler != "cc" {
		pkgs = map[string]bool{p.compiler: true}
	}
	for _, pkg := range p.needs {
		pkgs[pkg] = true
	}
	var out []string
	for pkg := range pkgs {
		out = append(out, pkg)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}
