package sriovrdma

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

// specCodes are the well-known codes of the CNI spec (1.1.0) with their
// meaning; the spec reserves 0-99 and defines no others.
var specCodes = map[uint]string{
	1:  "incompatible CNI version",
	2:  "unsupported field in network configuration",
	3:  "container unknown or does not exist",
	4:  "invalid necessary environment variables",
	5:  "I/O failure",
	6:  "failed to decode content",
	7:  "invalid network config",
	11: "try again later",
	50: "the plugin is not available (STATUS)",
	51: "the plugin is not available, existing containers may have limited connectivity (STATUS)",
}

func TestCodesKeepTheSpecMeaning(t *testing.T) {
	seen := map[uint]bool{}
	for _, c := range Codes() {
		if seen[c.Code] {
			t.Errorf("code %d is listed twice", c.Code)
		}
		seen[c.Code] = true
		if c.When == "" {
			t.Errorf("code %d says nothing about when it is used", c.Code)
		}
		if _, spec := specCodes[c.Code]; c.Code < 100 && !spec {
			t.Errorf("code %d is reserved by the spec, which gives it no meaning; use 100 or more", c.Code)
		}
	}
	if seen[types.ErrUnknown] {
		t.Errorf("code 0 is listed: a runtime reads it as no error code at all")
	}
}

// readmeCodes parses the table under README's "### Error codes".
func readmeCodes(t *testing.T) map[uint]string {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	row := regexp.MustCompile(`^\|\s*(\d+)\s*\|\s*(.*?)\s*\|\s*$`)
	out := map[uint]string{}
	in, table := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
			in = strings.TrimSpace(strings.TrimLeft(line, "#")) == "Error codes"
			table = false
			continue
		case !in:
			continue
		case strings.HasPrefix(line, "|"):
			table = true
		case table:
			return out // the first table of the section ended
		}
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		code, _ := strconv.ParseUint(m[1], 10, 32)
		if _, dup := out[uint(code)]; dup {
			t.Errorf("README lists code %d twice", code)
		}
		out[uint(code)] = m[2]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal(`README has no table under "### Error codes"`)
	}
	return out
}

func TestReadmeErrorCodesMatchTheRegistry(t *testing.T) {
	doc := readmeCodes(t)
	for _, c := range Codes() {
		if when, ok := doc[c.Code]; !ok {
			t.Errorf("code %d (%s) is missing from README's Error codes table", c.Code, c.When)
		} else if when == "" {
			t.Errorf("README's row for code %d says nothing", c.Code)
		}
	}
	for code, when := range doc {
		if !slices.ContainsFunc(Codes(), func(c CodeUse) bool { return c.Code == code }) {
			t.Errorf("README lists code %d (%s), which the registry in codes.go does not", code, when)
		}
	}
}

// libraryCodes are the CNI library's named codes.
var libraryCodes = map[string]uint{
	"ErrUnknown":                     types.ErrUnknown,
	"ErrIncompatibleCNIVersion":      types.ErrIncompatibleCNIVersion,
	"ErrUnsupportedField":            types.ErrUnsupportedField,
	"ErrUnknownContainer":            types.ErrUnknownContainer,
	"ErrInvalidEnvironmentVariables": types.ErrInvalidEnvironmentVariables,
	"ErrIOFailure":                   types.ErrIOFailure,
	"ErrDecodingFailure":             types.ErrDecodingFailure,
	"ErrInvalidNetworkConfig":        types.ErrInvalidNetworkConfig,
	"ErrInvalidNetNS":                types.ErrInvalidNetNS,
	"ErrTryAgainLater":               types.ErrTryAgainLater,
	"ErrPluginNotAvailable":          types.ErrPluginNotAvailable,
	"ErrLimitedConnectivity":         types.ErrLimitedConnectivity,
	"ErrInternal":                    types.ErrInternal,
}

// registryNames reads the Code* constants of codes.go and their values.
func registryNames(t *testing.T) map[string]uint {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "codes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, name := range vs.Names {
				switch v := vs.Values[i].(type) {
				case *ast.SelectorExpr:
					code, ok := libraryCodes[v.Sel.Name]
					if !ok {
						t.Fatalf("codes.go: %s = types.%s, a name this test does not know", name.Name, v.Sel.Name)
					}
					out[name.Name] = code
				case *ast.BasicLit:
					code, err := strconv.ParseUint(v.Value, 10, 32)
					if err != nil {
						t.Fatalf("codes.go: %s: %v", name.Name, err)
					}
					out[name.Name] = uint(code)
				default:
					t.Fatalf("codes.go: %s is neither a library code nor a number", name.Name)
				}
			}
		}
	}
	return out
}

// Every code named where errors are made (the plugin, its config loader,
// main) is in the registry. A name that is only compared with (==, != or a
// switch case) is not printed and does not count: the library's 0 and 8
// are compared with so that they never reach stdout.
func TestEveryCodeInTheSourceIsRegistered(t *testing.T) {
	ours := registryNames(t)
	registered := map[uint]bool{}
	for _, c := range Codes() {
		registered[c.Code] = true
	}
	for name, code := range ours {
		if !registered[code] {
			t.Errorf("codes.go names %s = %d, which Codes() does not list", name, code)
		}
	}
	var files []string
	for _, dir := range []string{".", "../../pkg/config", "../../cmd/sriov-rdma"} {
		m, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if !strings.HasSuffix(f, "_test.go") {
				files = append(files, f)
			}
		}
	}
	used := 0
	for _, path := range files {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		compared := map[ast.Node]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			switch e := n.(type) {
			case *ast.BinaryExpr:
				if e.Op == token.EQL || e.Op == token.NEQ {
					compared[e.X], compared[e.Y] = true, true
				}
			case *ast.CaseClause:
				for _, x := range e.List {
					compared[x] = true
				}
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			var name string
			var code uint
			var known bool
			switch e := n.(type) {
			case *ast.SelectorExpr:
				if x, ok := e.X.(*ast.Ident); !ok || x.Name != "types" || !strings.HasPrefix(e.Sel.Name, "Err") || e.Sel.Name == "Error" {
					return true
				}
				name = "types." + e.Sel.Name
				code, known = libraryCodes[e.Sel.Name]
			case *ast.Ident:
				c, ok := ours[e.Name]
				if !ok || filepath.Base(path) == "codes.go" {
					return true
				}
				name, code, known = e.Name, c, true
			default:
				return true
			}
			if compared[n] {
				return false
			}
			used++
			pos := fset.Position(n.Pos())
			switch {
			case !known:
				t.Errorf("%s: %s is not a code this test knows", pos, name)
			case !registered[code]:
				t.Errorf("%s: %s (%d) is not in the registry of codes.go", pos, name, code)
			}
			return false
		})
	}
	if used < 20 {
		t.Fatalf("found only %d uses of error codes in %d files: the scan is broken", used, len(files))
	}
}
