package shmkit_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// TestNoHooksAcrossPackages fails if a package assigns to another
// package's variable (pkg.Var = …): such a hook is a dependency that the
// import graph does not show, and it points the wrong way.
func TestNoHooksAcrossPackages(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		imported := map[string]bool{}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			name := p[strings.LastIndex(p, "/")+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			imported[name] = true
		}
		ast.Inspect(f, func(n ast.Node) bool {
			as, ok := n.(*ast.AssignStmt)
			if !ok {
				return true
			}
			for _, lhs := range as.Lhs {
				if sel, ok := lhs.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && id.Obj == nil && imported[id.Name] {
						t.Errorf("%v: assigns to %s.%s, another package's variable", fset.Position(as.Pos()), id.Name, sel.Sel.Name)
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestChannelLinksNoMutex fails if package channel depends on the mutex
// machinery: a program with only channels must not link it, nor run the
// robust mutex's self-test at start-up (package internal/robust's init).
func TestChannelLinksNoMutex(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./channel").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, banned := range []string{"semaphore", "internal/robust", "ctypes"} {
		if slices.Contains(deps, "github.com/shmkit/shmkit/"+banned) {
			t.Errorf("package channel depends on %s", banned)
		}
	}
}

// TestHandlesExposeNoFields fails if a handle type lets its user reach a
// field, as promotion from an embedded internal type would: the machinery
// shared through internal packages stays out of the user's reach.
func TestHandlesExposeNoFields(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[semaphore.Mutex](), reflect.TypeFor[semaphore.RMutex](),
		reflect.TypeFor[semaphore.Cond](), reflect.TypeFor[semaphore.Semaphore](),
		reflect.TypeFor[ctypes.Value[int32]](), reflect.TypeFor[ctypes.Array[int32]](),
		reflect.TypeFor[ctypes.RawValue[int32]](), reflect.TypeFor[channel.Channel[int32]](),
		reflect.TypeFor[shm.Segment](),
	} {
		for _, f := range reflect.VisibleFields(typ) {
			if f.IsExported() {
				t.Errorf("%v: field %s is reachable", typ, f.Name)
			}
		}
	}
}

// TestPlumbingStaysInternal fails if a public package declares again one
// of the names that only shmkit's own packages call (issue 27's list):
// they live under internal/. process.Dispatch stays: programs that use a
// pool call it first in main.
func TestPlumbingStaysInternal(t *testing.T) {
	banned := map[string][]string{
		"shm":       {"Writable", "RefusesWrites", "Populate", "LookupKind", "Drain", "FlagLocked", "Request.Param0", "Request.Param1", "Request.Desc", "Request.Flags"},
		"ctypes":    {"ElemCode", "RecordLayout", "DescribedAfter", "DescribedBy", "Match", "LockState"},
		"semaphore": {"MutexState", "State", "InspectCond", "CondState"},
		"process":   {"Command", "Env"},
	}
	for pkg, names := range banned {
		declared := map[string]bool{}
		fset := token.NewFileSet()
		files, err := filepath.Glob(filepath.Join(pkg, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					declared[d.Name.Name] = true
				case *ast.GenDecl:
					for _, spec := range d.Specs {
						switch s := spec.(type) {
						case *ast.ValueSpec:
							for _, n := range s.Names {
								declared[n.Name] = true
							}
						case *ast.TypeSpec:
							declared[s.Name.Name] = true
							if st, ok := s.Type.(*ast.StructType); ok {
								for _, fl := range st.Fields.List {
									for _, n := range fl.Names {
										declared[s.Name.Name+"."+n.Name] = true
									}
								}
							}
						}
					}
				}
			}
		}
		for _, n := range names {
			if declared[n] {
				t.Errorf("package %s declares %s, which is plumbing", pkg, n)
			}
		}
	}
}
