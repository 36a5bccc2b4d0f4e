package antifragile_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoPrinting: library code never prints by itself. Every non-test Go
// file of the repository (nested modules included) outside cmd/ and
// examples/ and outside package main is parsed, and a call to fmt.Print*,
// print or println, a log.Print*/Fatal*/Panic* (the standard logger), or a
// use of os.Stdout or os.Stderr fails the test: components log through the
// *slog.Logger of their Config and write only to the io.Writers they are
// given.
func TestNoPrinting(t *testing.T) {
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "cmd", "examples", "testdata", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		files++
		for _, p := range printing(f) {
			t.Errorf("%s: %s: library code must not print (log through the Config's *slog.Logger)", fset.Position(p.pos), p.what)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("only %d library files checked: the walk is broken", files)
	}
}

type printUse struct {
	pos  token.Pos
	what string
}

// printing returns the uses of printing functions and standard streams in f.
func printing(f *ast.File) []printUse {
	names := map[string]string{} // local name → import path, for fmt, log and os
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if path != "fmt" && path != "log" && path != "os" {
			continue
		}
		name := path
		if imp.Name != nil {
			name = imp.Name.Name
		}
		names[name] = path
	}
	var uses []printUse
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && (id.Name == "print" || id.Name == "println") {
				uses = append(uses, printUse{n.Pos(), id.Name})
			}
		case *ast.SelectorExpr:
			id, ok := n.X.(*ast.Ident)
			if !ok {
				return true
			}
			if what := printingSelector(names[id.Name], n.Sel.Name); what != "" {
				uses = append(uses, printUse{n.Pos(), what})
			}
		}
		return true
	})
	return uses
}

// printingSelector names pkg.sel when it prints or is a standard stream.
func printingSelector(pkg, sel string) string {
	switch {
	case pkg == "fmt" && strings.HasPrefix(sel, "Print"),
		pkg == "log" && (strings.HasPrefix(sel, "Print") || strings.HasPrefix(sel, "Fatal") || strings.HasPrefix(sel, "Panic")),
		pkg == "os" && (sel == "Stdout" || sel == "Stderr"):
		return pkg + "." + sel
	}
	return ""
}
