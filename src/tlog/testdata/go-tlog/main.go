// Command go-tlog answers questions about a test log with golang.org/x/mod/sumdb/tlog, the
// reference implementation our tree and proof code is checked against (tlog-interop.test.ts).
//
// It reads one JSON request on standard input and writes one JSON answer on standard output.
// The log has `entries` entries, entry i being the bytes "entry <i>". The answer holds
// tlog.TreeHash roots, tlog.ProveRecord and tlog.ProveTree proofs, the tiles of height 8 that
// tlog.NewTiles lists with their tlog.ReadTileData contents, and the same proofs computed again
// through tlog.TileHashReader from the tiles the request supplies (ours), which x/mod
// authenticates against the root the request claims.
//
// Build and run without modules, against the Debian package golang-golang-x-mod-dev:
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o go-tlog ./src/tlog/testdata/go-tlog
package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"golang.org/x/mod/sumdb/tlog"
)

type request struct {
	Entries     int64      `json:"entries"`
	Roots       []int64    `json:"roots"`
	Inclusion   [][2]int64 `json:"inclusion"`
	Consistency [][2]int64 `json:"consistency"`
	NewTiles    [][2]int64 `json:"newTiles"`
	// Our tiles for the whole log, by x/mod tile path (tile/8/L/N[.p/W]), base64.
	OurTiles map[string]string `json:"ourTiles"`
	// Our root for the whole log, hex.
	OurRoot string `json:"ourRoot"`
}

type root struct {
	Size int64  `json:"size"`
	Hash string `json:"hash"`
}

type proof struct {
	A     int64    `json:"a"`
	B     int64    `json:"b"`
	Proof []string `json:"proof"`
}

type tile struct {
	Path  string `json:"path"`
	Level int    `json:"level"`
	Index int64  `json:"index"`
	Width int    `json:"width"`
	Data  []byte `json:"data"`
}

type newTiles struct {
	OldSize int64  `json:"oldSize"`
	Size    int64  `json:"size"`
	Tiles   []tile `json:"tiles"`
}

type answer struct {
	Roots       []root     `json:"roots"`
	Inclusion   []proof    `json:"inclusion"`
	Consistency []proof    `json:"consistency"`
	Tiles       []tile     `json:"tiles"`
	NewTiles    []newTiles `json:"newTiles"`
	// Proofs computed by x/mod's tile client from our tiles, or the error it gave.
	FromOurTiles struct {
		Inclusion   []proof `json:"inclusion"`
		Consistency []proof `json:"consistency"`
		Error       string  `json:"error"`
	} `json:"fromOurTiles"`
}

// hashStore is an in-memory tlog.HashReader over the stored hashes of the log.
type hashStore []tlog.Hash

func (s hashStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = s[x]
	}
	return out, nil
}

// ourTiles is a tlog.TileReader over the tiles the request supplies.
type ourTiles map[string][]byte

func (t ourTiles) Height() int { return 8 }

func (t ourTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, x := range tiles {
		d, ok := t[x.Path()]
		if !ok {
			return nil, fmt.Errorf("no tile %s", x.Path())
		}
		data[i] = d
	}
	return data, nil
}

func (t ourTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func hexes(hashes []tlog.Hash) []string {
	out := make([]string, len(hashes))
	for i, h := range hashes {
		out[i] = hex.EncodeToString(h[:])
	}
	return out
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "go-tlog:", err)
		os.Exit(1)
	}
}

func run() error {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		return err
	}

	var store hashStore
	for i := int64(0); i < req.Entries; i++ {
		hashes, err := tlog.StoredHashes(i, []byte(fmt.Sprintf("entry %d", i)), store)
		if err != nil {
			return err
		}
		store = append(store, hashes...)
	}

	var ans answer
	for _, n := range req.Roots {
		h, err := tlog.TreeHash(n, store)
		if err != nil {
			return err
		}
		ans.Roots = append(ans.Roots, root{n, hex.EncodeToString(h[:])})
	}
	for _, q := range req.Inclusion {
		p, err := tlog.ProveRecord(q[1], q[0], store)
		if err != nil {
			return err
		}
		ans.Inclusion = append(ans.Inclusion, proof{q[0], q[1], hexes(p)})
	}
	for _, q := range req.Consistency {
		p, err := tlog.ProveTree(q[1], q[0], store)
		if err != nil {
			return err
		}
		ans.Consistency = append(ans.Consistency, proof{q[0], q[1], hexes(p)})
	}
	for _, t := range tlog.NewTiles(8, 0, req.Entries) {
		data, err := tlog.ReadTileData(t, store)
		if err != nil {
			return err
		}
		ans.Tiles = append(ans.Tiles, tile{t.Path(), t.L, t.N, t.W, data})
	}
	for _, q := range req.NewTiles {
		nt := newTiles{OldSize: q[0], Size: q[1], Tiles: []tile{}}
		for _, t := range tlog.NewTiles(8, q[0], q[1]) {
			nt.Tiles = append(nt.Tiles, tile{t.Path(), t.L, t.N, t.W, nil})
		}
		ans.NewTiles = append(ans.NewTiles, nt)
	}

	if err := proveFromOurTiles(req, &ans); err != nil {
		ans.FromOurTiles.Error = err.Error()
	}

	out := json.NewEncoder(os.Stdout)
	return out.Encode(ans)
}

func proveFromOurTiles(req request, ans *answer) error {
	tiles := ourTiles{}
	for path, data := range req.OurTiles {
		d, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			return err
		}
		tiles[path] = d
	}
	rootBytes, err := hex.DecodeString(req.OurRoot)
	if err != nil || len(rootBytes) != tlog.HashSize {
		return fmt.Errorf("malformed root %q", req.OurRoot)
	}
	var tree tlog.Tree
	tree.N = req.Entries
	copy(tree.Hash[:], rootBytes)
	// TileHashReader checks every tile it reads against tree.Hash before using it.
	reader := tlog.TileHashReader(tree, tiles)
	for _, q := range req.Inclusion {
		if q[1] != req.Entries {
			continue
		}
		p, err := tlog.ProveRecord(q[1], q[0], reader)
		if err != nil {
			return err
		}
		ans.FromOurTiles.Inclusion = append(ans.FromOurTiles.Inclusion, proof{q[0], q[1], hexes(p)})
	}
	for _, q := range req.Consistency {
		if q[1] != req.Entries {
			continue
		}
		p, err := tlog.ProveTree(q[1], q[0], reader)
		if err != nil {
			return err
		}
		ans.FromOurTiles.Consistency = append(ans.FromOurTiles.Consistency, proof{q[0], q[1], hexes(p)})
	}
	return nil
}
