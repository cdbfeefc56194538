// Package codeversion derives a version of the code behind some entry points
// from the module's own source: a digest of every declaration the entry points
// can reach, so that a change to that code, and to no other, changes the
// version. The runner names each stage kind's entry points and puts the
// version in the stage's identity (runner.CodeVersion), so a cached stage is
// never reused by code that would build it differently.
//
// # What is reached
//
// The source is parsed, not type-checked (it must work from the embedded
// files of a binary built anywhere, with or without cgo). From the entry
// points, reachability follows names, over-approximating where names alone
// cannot decide:
//
//   - an identifier reaches every package-level declaration of that name in
//     its own package (a local variable of the same name included);
//   - pkg.Name, for a package of this module, reaches that package's Name;
//     for another module it adds that module and version (go.mod) instead;
//   - x.name reaches the method name of every reached type, in any package
//     of the module: without types the receiver is unknown. A type is reached
//     when it is named (a field's, a parameter's, a conversion's type...);
//   - a reached type's methods that code outside the module may call through
//     an interface (Implicit: String, Error, MarshalJSON, Len/Less/Swap, ...)
//     are reached whether or not they are selected;
//   - a package any of whose declarations is reached adds its init functions
//     and blank variables; one whose reached code calls C adds its C files
//     (.c, .h, .s) and cgo preambles; a reached //go:embed variable adds the
//     files it embeds.
//
// Field names in struct types and struct literals, parameter names and
// labels are declarations, not uses, and reach nothing.
//
// # What the digest covers
//
// Each reached declaration contributes its tokens, without comments or
// layout (gofmt, or a comment, changes nothing), with its package and name.
// Every file of every build variant is read (cgo and pure Go, OpenBLAS and
// gonum, CPU and CUDA), so a binary built with CGO_ENABLED=0 and one built
// with OpenBLAS give the same versions. Not covered: the Go toolchain and the
// system libraries a binary links or loads (OpenBLAS, CUDA); records name
// those (Go version, engine) beside the commit.
package codeversion

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Implicit are the method names that code outside the module may call on a
// value of a module type without naming the method in the module: the
// standard library's interfaces (fmt, errors, encoding, sort, container/heap,
// io, hash) and the TOML decoder's.
var Implicit = []string{
	"String", "GoString", "Format", "Error", "Unwrap", "Is", "As",
	"MarshalJSON", "UnmarshalJSON", "MarshalText", "UnmarshalText", "MarshalBinary", "UnmarshalBinary",
	"UnmarshalTOML", "MarshalTOML",
	"Len", "Less", "Swap", "Push", "Pop",
	"Read", "Write", "Close", "Seek", "ReadAt", "WriteAt", "ReadFrom", "WriteTo",
	"ReadByte", "UnreadByte", "ReadRune", "UnreadRune", "WriteByte", "WriteRune", "WriteString",
	"Sum", "Reset", "Size", "BlockSize",
}

// Module is a Go module's parsed source.
type Module struct {
	Path     string            // module path, from go.mod
	requires map[string]string // module path -> version, from go.mod
	fsys     fs.FS
	fset     *token.FileSet
	pkgs     map[string]*pkg // by import path
}

type pkg struct {
	path, dir string
	files     []*file
	top       map[string][]*unit // package-level names
	methods   map[string][]*unit // receiver type name -> its methods
	always    []*unit            // init functions and blank variables
	extra     []string           // C sources, in fsys
	types     map[string]*ast.TypeSpec
}

type file struct {
	name    string // in fsys
	src     []byte
	ast     *ast.File
	imports map[string]string // name in the file -> import path
	cgo     bool
}

// unit is one declaration: a function, a method, a type, a variable, or a
// block of constants (iota ties them together).
type unit struct {
	pkg        *pkg
	file       *file
	name       string // "func F", "method T.m", "type T", "var x", "const (a, b)"
	node       ast.Node
	start, end token.Pos
	embeds     []string // //go:embed patterns
	typeName   string   // for types
	recv, meth string   // for methods
	locals     map[string]bool
}

// local says whether the unit declares a variable, parameter or result
// named name anywhere inside it.
func (u *unit) local(name string) bool {
	if u.locals == nil {
		u.locals = map[string]bool{}
		ast.Inspect(u.node, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Field:
				for _, id := range n.Names {
					u.locals[id.Name] = true
				}
			case *ast.AssignStmt:
				if n.Tok == token.DEFINE {
					for _, e := range n.Lhs {
						if id, ok := e.(*ast.Ident); ok {
							u.locals[id.Name] = true
						}
					}
				}
			case *ast.ValueSpec:
				for _, id := range n.Names {
					u.locals[id.Name] = true
				}
			case *ast.RangeStmt:
				if n.Tok == token.DEFINE {
					for _, e := range []ast.Expr{n.Key, n.Value} {
						if id, ok := e.(*ast.Ident); ok {
							u.locals[id.Name] = true
						}
					}
				}
			}
			return true
		})
	}
	return u.locals[name]
}

// Load parses the module rooted at fsys: go.mod at its top, each folder's
// Go files (not tests, not testdata, nothing under a name starting with . or
// _) a package, a file constrained by "//go:build ignore" left out.
func Load(fsys fs.FS) (*Module, error) {
	mod, err := fs.ReadFile(fsys, "go.mod")
	if err != nil {
		return nil, fmt.Errorf("codeversion: %w", err)
	}
	m := &Module{fsys: fsys, fset: token.NewFileSet(), pkgs: map[string]*pkg{}, requires: map[string]string{}}
	if err := m.readGoMod(mod); err != nil {
		return nil, err
	}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != "." && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return fs.SkipDir
			}
			return nil
		}
		dir := path.Dir(p)
		switch ext := path.Ext(name); {
		case ext == ".go" && !strings.HasSuffix(name, "_test.go"):
			return m.parse(p, dir)
		case ext == ".c" || ext == ".h" || ext == ".s" || ext == ".S":
			k := m.pkgAt(dir)
			k.extra = append(k.extra, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("codeversion: %w", err)
	}
	for _, k := range m.pkgs {
		k.index()
	}
	return m, nil
}

func (m *Module) readGoMod(data []byte) error {
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	inRequire := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case f[0] == "module" && len(f) == 2:
			m.Path = strings.Trim(f[1], `"`)
		case f[0] == "require" && len(f) == 2 && f[1] == "(":
			inRequire = true
		case inRequire && f[0] == ")":
			inRequire = false
		case inRequire && len(f) >= 2:
			m.requires[f[0]] = f[1]
		case f[0] == "require" && len(f) >= 3:
			m.requires[f[1]] = f[2]
		}
	}
	if m.Path == "" {
		return fmt.Errorf("codeversion: go.mod names no module")
	}
	return nil
}

func (m *Module) importPath(dir string) string {
	if dir == "." {
		return m.Path
	}
	return m.Path + "/" + dir
}

func (m *Module) pkgAt(dir string) *pkg {
	ip := m.importPath(dir)
	k, ok := m.pkgs[ip]
	if !ok {
		k = &pkg{path: ip, dir: dir, top: map[string][]*unit{}, methods: map[string][]*unit{}, types: map[string]*ast.TypeSpec{}}
		m.pkgs[ip] = k
	}
	return k
}

func (m *Module) parse(name, dir string) error {
	src, err := fs.ReadFile(m.fsys, name)
	if err != nil {
		return err
	}
	af, err := parser.ParseFile(m.fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return err
	}
	for _, cg := range af.Comments {
		if cg.Pos() >= af.Package {
			break
		}
		for _, c := range cg.List {
			if strings.HasPrefix(c.Text, "//go:build ") && slices.Contains(strings.Fields(c.Text[len("//go:build "):]), "ignore") {
				return nil
			}
		}
	}
	f := &file{name: name, src: src, ast: af, imports: map[string]string{}}
	for _, is := range af.Imports {
		ip, err := strconv.Unquote(is.Path.Value)
		if err != nil {
			return fmt.Errorf("%s: import %s: %v", name, is.Path.Value, err)
		}
		if ip == "C" {
			f.cgo = true
			continue
		}
		local := path.Base(ip)
		if is.Name != nil {
			local = is.Name.Name
		} else if v := path.Base(ip); strings.HasPrefix(v, "v") && len(v) > 1 && strings.Trim(v[1:], "0123456789") == "" {
			local = path.Base(path.Dir(ip)) // math/rand/v2 is rand
		}
		if local == "_" || local == "." {
			continue
		}
		f.imports[local] = ip
	}
	k := m.pkgAt(dir)
	k.files = append(k.files, f)
	return nil
}

// index makes the package's units.
func (k *pkg) index() {
	add := func(u *unit, names ...string) {
		for _, n := range names {
			if n == "_" {
				k.always = append(k.always, u)
				continue
			}
			k.top[n] = append(k.top[n], u)
		}
	}
	for _, f := range k.files {
		for _, d := range f.ast.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				u := &unit{pkg: k, file: f, node: d, start: d.Pos(), end: d.End()}
				switch {
				case d.Recv != nil && len(d.Recv.List) == 1:
					u.recv, u.meth = recvName(d.Recv.List[0].Type), d.Name.Name
					u.name = "method " + u.recv + "." + u.meth
					k.methods[u.recv] = append(k.methods[u.recv], u)
				case d.Name.Name == "init":
					u.name = "func init"
					k.always = append(k.always, u)
				default:
					u.name = "func " + d.Name.Name
					add(u, d.Name.Name)
				}
			case *ast.GenDecl:
				switch d.Tok {
				case token.IMPORT:
				case token.CONST:
					u := &unit{pkg: k, file: f, node: d, start: d.Pos(), end: d.End()}
					var names []string
					for _, s := range d.Specs {
						for _, n := range s.(*ast.ValueSpec).Names {
							names = append(names, n.Name)
						}
					}
					u.name = "const (" + strings.Join(names, ", ") + ")"
					add(u, names...)
				case token.VAR:
					for _, s := range d.Specs {
						vs := s.(*ast.ValueSpec)
						u := &unit{pkg: k, file: f, node: vs, start: vs.Pos(), end: vs.End()}
						var names []string
						for _, n := range vs.Names {
							names = append(names, n.Name)
						}
						u.name = "var " + strings.Join(names, ", ")
						docs := []*ast.CommentGroup{vs.Doc}
						if len(d.Specs) == 1 {
							docs = append(docs, d.Doc)
						}
						u.embeds = embedPatterns(docs)
						add(u, names...)
					}
				case token.TYPE:
					for _, s := range d.Specs {
						ts := s.(*ast.TypeSpec)
						u := &unit{pkg: k, file: f, node: ts, start: ts.Pos(), end: ts.End(), typeName: ts.Name.Name, name: "type " + ts.Name.Name}
						k.types[ts.Name.Name] = ts
						add(u, ts.Name.Name)
					}
				}
			}
		}
	}
}

func recvName(e ast.Expr) string {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.ParenExpr:
			e = t.X
		case *ast.Ident:
			return t.Name
		default:
			return ""
		}
	}
}

func embedPatterns(docs []*ast.CommentGroup) []string {
	var out []string
	for _, cg := range docs {
		if cg == nil {
			continue
		}
		for _, c := range cg.List {
			if rest, ok := strings.CutPrefix(c.Text, "//go:embed "); ok {
				out = append(out, strings.Fields(rest)...)
			}
		}
	}
	return out
}

// Reach is what a set of entry points can reach.
type Reach struct {
	m        *Module
	units    map[*unit]bool
	types    map[*unit]bool
	selected map[string]bool
	external map[string]bool // import paths outside the module
	missing  map[string]bool // import paths of the module that the source lacks
	cgo      map[*pkg]bool
	pkgs     map[*pkg]bool
	queue    []*unit
	skip     []*unit
}

// Reach follows the entry points, each "pkg.Name" or "pkg.Type.Method" with
// pkg the folder's path in the module ("runner.pretrainJob.run",
// "compute/cuda.Backend", "model.NewLM"), and does not follow the
// declarations named in except (the code version's own lookup, which names
// the code without being part of it).
func (m *Module) Reach(roots []string, except ...string) (*Reach, error) {
	r := &Reach{m: m, units: map[*unit]bool{}, types: map[*unit]bool{}, selected: map[string]bool{},
		external: map[string]bool{}, missing: map[string]bool{}, cgo: map[*pkg]bool{}, pkgs: map[*pkg]bool{}}
	for _, n := range Implicit {
		r.selected[n] = true
	}
	for _, e := range except {
		us, err := m.lookup(e)
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			r.units[u] = true // reached already, never walked or digested
			r.skip = append(r.skip, u)
		}
	}
	for _, root := range roots {
		us, err := m.lookup(root)
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			r.add(u)
		}
	}
	for {
		for len(r.queue) > 0 {
			u := r.queue[0]
			r.queue = r.queue[1:]
			r.walk(u)
		}
		// Methods of reached types whose names some reached code selects,
		// init functions of reached packages.
		before := len(r.units)
		for t := range r.types {
			for _, meth := range t.pkg.methods[t.typeName] {
				if r.selected[meth.meth] {
					r.add(meth)
				}
			}
		}
		for k := range r.pkgs {
			for _, u := range k.always {
				if r.initNeeded(u) {
					r.add(u)
				}
			}
		}
		if len(r.units) == before && len(r.queue) == 0 {
			break
		}
	}
	for _, u := range r.skip {
		delete(r.units, u)
	}
	for u := range r.units {
		for _, pat := range u.embeds {
			matches, err := fs.Glob(m.fsys, path.Join(u.pkg.dir, pat))
			if err != nil || len(matches) == 0 {
				return nil, fmt.Errorf("codeversion: %s %s embeds %q, which the source given has no file for: embed it there too", u.pkg.path, u.name, pat)
			}
		}
	}
	for ip := range r.missing {
		return nil, fmt.Errorf("codeversion: reached code uses %s, which the source given does not hold: embed its files too", ip)
	}
	for ip := range r.external {
		if _, err := m.moduleOf(ip); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// initNeeded says whether an init function (or a blank variable's
// initialiser) of a reached package counts: when it uses a package-level
// variable that reached code uses (its effect is visible only there), or,
// using none, when any function, method or variable of its package is
// reached (it may act on the world, not on the package).
func (r *Reach) initNeeded(u *unit) bool {
	vars, code := false, false
	for v := range u.vars() {
		vars = true
		if r.units[v] {
			return true
		}
	}
	if vars {
		return false
	}
	for w := range r.units {
		if w.pkg == u.pkg && w.typeName == "" && !strings.HasPrefix(w.name, "const ") {
			code = true
			break
		}
	}
	return code
}

// vars are the package-level variables a unit names.
func (u *unit) vars() map[*unit]bool {
	out := map[*unit]bool{}
	ast.Inspect(u.node, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			for _, v := range u.pkg.top[id.Name] {
				if strings.HasPrefix(v.name, "var ") {
					out[v] = true
				}
			}
		}
		return true
	})
	return out
}

func (m *Module) lookup(root string) ([]*unit, error) {
	slash := strings.LastIndex(root, "/")
	dot := strings.Index(root[slash+1:], ".")
	if dot < 0 {
		return nil, fmt.Errorf("codeversion: entry point %q is not pkg.Name or pkg.Type.Method", root)
	}
	dir, name := root[:slash+1+dot], root[slash+2+dot:]
	k, ok := m.pkgs[m.importPath(dir)]
	if !ok {
		return nil, fmt.Errorf("codeversion: entry point %q: no package %s in the source", root, dir)
	}
	if typ, meth, ok := strings.Cut(name, "."); ok {
		for _, u := range k.methods[typ] {
			if u.meth == meth {
				return []*unit{u}, nil
			}
		}
		return nil, fmt.Errorf("codeversion: entry point %q: %s has no method %s.%s", root, dir, typ, meth)
	}
	if us := k.top[name]; len(us) > 0 {
		return us, nil
	}
	return nil, fmt.Errorf("codeversion: entry point %q: %s declares no %s", root, dir, name)
}

func (r *Reach) add(u *unit) {
	if r.units[u] {
		return
	}
	r.units[u] = true
	r.pkgs[u.pkg] = true
	if u.typeName != "" {
		r.types[u] = true
	}
	r.queue = append(r.queue, u)
}

// refer adds the package-level declarations named name in k.
func (r *Reach) refer(k *pkg, name string) bool {
	us := k.top[name]
	for _, u := range us {
		r.add(u)
	}
	return len(us) > 0
}

func (r *Reach) walk(u *unit) {
	switch n := u.node.(type) {
	case *ast.FuncDecl:
		if n.Recv != nil {
			r.inspect(u, n.Recv)
		}
		r.inspect(u, n.Type)
		if n.Body != nil {
			r.inspect(u, n.Body)
		}
	case *ast.GenDecl: // a const block
		for _, s := range n.Specs {
			vs := s.(*ast.ValueSpec)
			r.inspect(u, vs.Type)
			for _, v := range vs.Values {
				r.inspect(u, v)
			}
		}
	case *ast.ValueSpec:
		r.inspect(u, n.Type)
		for _, v := range n.Values {
			r.inspect(u, v)
		}
	case *ast.TypeSpec:
		if n.TypeParams != nil {
			r.inspect(u, n.TypeParams)
		}
		r.inspect(u, n.Type)
	}
}

func (r *Reach) inspect(u *unit, node ast.Node) {
	if node == nil {
		return
	}
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			if n.Name != "_" {
				r.refer(u.pkg, n.Name)
			}
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok {
				if x.Name == "C" && u.file.cgo {
					r.cgo[u.pkg] = true
					return false
				}
				if ip, ok := u.file.imports[x.Name]; ok {
					if k, ok := r.m.pkgs[ip]; ok {
						if !r.refer(k, n.Sel.Name) {
							r.selected[n.Sel.Name] = true
						}
					} else if r.m.inModule(ip) {
						r.missing[ip] = true
					} else {
						r.external[ip] = true
					}
					if u.local(x.Name) {
						// Maybe a local variable named like the import: its
						// field or method.
						r.selected[n.Sel.Name] = true
					}
					return false
				}
			}
			r.selected[n.Sel.Name] = true
			ast.Inspect(n.X, visit)
			return false
		case *ast.Field:
			ast.Inspect(n.Type, visit)
			return false
		case *ast.CompositeLit:
			if n.Type != nil {
				ast.Inspect(n.Type, visit)
			}
			fields := r.structLit(u, n.Type, 0)
			for _, e := range n.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok && fields {
					if _, ok := kv.Key.(*ast.Ident); ok {
						ast.Inspect(kv.Value, visit)
						continue
					}
				}
				ast.Inspect(e, visit)
			}
			return false
		case *ast.LabeledStmt:
			ast.Inspect(n.Stmt, visit)
			return false
		case *ast.BranchStmt:
			return false
		}
		return true
	}
	ast.Inspect(node, visit)
}

// structLit says whether a composite literal of type t has field names
// for keys: a struct type of this module or any named type of another (map
// and slice types name no fields; an elided type is not known).
func (r *Reach) structLit(u *unit, t ast.Expr, depth int) bool {
	if depth > 8 {
		return false
	}
	switch t := t.(type) {
	case *ast.StructType:
		return true
	case *ast.StarExpr:
		return r.structLit(u, t.X, depth+1)
	case *ast.IndexExpr:
		return r.structLit(u, t.X, depth+1)
	case *ast.IndexListExpr:
		return r.structLit(u, t.X, depth+1)
	case *ast.ParenExpr:
		return r.structLit(u, t.X, depth+1)
	case *ast.Ident:
		if ts, ok := u.pkg.types[t.Name]; ok {
			return r.structLit(&unit{pkg: u.pkg, file: r.fileOf(u.pkg, ts)}, ts.Type, depth+1)
		}
		return false
	case *ast.SelectorExpr:
		x, ok := t.X.(*ast.Ident)
		if !ok {
			return false
		}
		ip, ok := u.file.imports[x.Name]
		if !ok {
			return false
		}
		if k, ok := r.m.pkgs[ip]; ok {
			if ts, ok := k.types[t.Sel.Name]; ok {
				return r.structLit(&unit{pkg: k, file: r.fileOf(k, ts)}, ts.Type, depth+1)
			}
			return false
		}
		return true
	}
	return false
}

func (r *Reach) fileOf(k *pkg, n ast.Node) *file {
	for _, f := range k.files {
		if f.ast.Pos() <= n.Pos() && n.End() <= f.ast.End() {
			return f
		}
	}
	return k.files[0]
}

func (m *Module) inModule(ip string) bool {
	return ip == m.Path || strings.HasPrefix(ip, m.Path+"/")
}

// moduleOf is the go.mod requirement that provides ip: "" for the standard
// library.
func (m *Module) moduleOf(ip string) (string, error) {
	first, _, _ := strings.Cut(ip, "/")
	if !strings.Contains(first, ".") {
		return "", nil
	}
	best := ""
	for mod := range m.requires {
		if (ip == mod || strings.HasPrefix(ip, mod+"/")) && len(mod) > len(best) {
			best = mod
		}
	}
	if best == "" {
		return "", fmt.Errorf("codeversion: %s is imported by reached code, and go.mod requires no module that provides it", ip)
	}
	return best, nil
}

// Packages are the module's packages (folder paths in the module, "." for
// its root) holding reached declarations, each with its declarations'
// names, sorted.
func (r *Reach) Packages() map[string][]string {
	out := map[string][]string{}
	for u := range r.units {
		out[u.pkg.dir] = append(out[u.pkg.dir], u.name)
	}
	for _, names := range out {
		sort.Strings(names)
	}
	return out
}

// External are the modules outside this one that reached code imports,
// "path@version", sorted.
func (r *Reach) External() []string {
	seen := map[string]bool{}
	for ip := range r.external {
		if mod, _ := r.m.moduleOf(ip); mod != "" {
			seen[mod+"@"+r.m.requires[mod]] = true
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Digest is the hex SHA-256 of everything reached: each declaration's
// tokens with its package and name, the C sources and cgo preambles of
// packages whose reached code calls C, the files reached //go:embed
// variables embed, and the external modules' versions.
func (r *Reach) Digest() (string, error) {
	var lines []string
	for u := range r.units {
		h, err := r.m.tokens(u)
		if err != nil {
			return "", err
		}
		lines = append(lines, fmt.Sprintf("%s\t%s\t%s", u.pkg.path, u.name, h))
		for _, pat := range u.embeds {
			matches, _ := fs.Glob(r.m.fsys, path.Join(u.pkg.dir, pat))
			for _, p := range matches {
				h, err := r.m.fileHash(p)
				if err != nil {
					return "", err
				}
				lines = append(lines, fmt.Sprintf("%s\tembed %s\t%s", u.pkg.path, p, h))
			}
		}
	}
	for k := range r.cgo {
		for _, p := range k.extra {
			h, err := r.m.fileHash(p)
			if err != nil {
				return "", err
			}
			lines = append(lines, fmt.Sprintf("%s\tc %s\t%s", k.path, p, h))
		}
		for _, f := range k.files {
			if !f.cgo {
				continue
			}
			for _, is := range f.ast.Imports {
				if is.Path.Value == `"C"` && is.Doc == nil {
					if gd := importDecl(f.ast, is); gd != nil && gd.Doc != nil {
						lines = append(lines, fmt.Sprintf("%s\tcgo %s\t%s", k.path, f.name, hashString(gd.Doc.Text())))
					}
				} else if is.Path.Value == `"C"` {
					lines = append(lines, fmt.Sprintf("%s\tcgo %s\t%s", k.path, f.name, hashString(is.Doc.Text())))
				}
			}
		}
	}
	for _, e := range r.External() {
		lines = append(lines, "module\t"+e)
	}
	sort.Strings(lines)
	return hashString(strings.Join(lines, "\n")), nil
}

func importDecl(f *ast.File, is *ast.ImportSpec) *ast.GenDecl {
	for _, d := range f.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			if slices.Contains(gd.Specs, ast.Spec(is)) {
				return gd
			}
		}
	}
	return nil
}

// tokens hashes a unit's tokens: no comments, no layout.
func (m *Module) tokens(u *unit) (string, error) {
	tf := m.fset.File(u.start)
	lo, hi := tf.Offset(u.start), tf.Offset(u.end)
	src := u.file.src[lo:hi]
	var s scanner.Scanner
	fset := token.NewFileSet()
	var scanErr error
	s.Init(fset.AddFile("", -1, len(src)), src, func(pos token.Position, msg string) {
		if scanErr == nil {
			scanErr = fmt.Errorf("codeversion: %s %s: %s", u.file.name, u.name, msg)
		}
	}, 0)
	h := sha256.New()
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.SEMICOLON && lit == "\n" {
			lit = ";"
		}
		fmt.Fprintf(h, "%d %s\n", tok, lit)
	}
	if scanErr != nil {
		return "", scanErr
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (m *Module) fileHash(p string) (string, error) {
	data, err := fs.ReadFile(m.fsys, p)
	if err != nil {
		return "", fmt.Errorf("codeversion: %w", err)
	}
	return hashString(string(data)), nil
}

func hashString(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
