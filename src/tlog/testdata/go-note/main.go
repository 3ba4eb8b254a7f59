// Command go-note signs and opens C2SP signed notes with golang.org/x/mod/sumdb/note, the
// reference implementation, so that the TypeScript tests can check interoperability.
//
//	go-note generate NAME       prints a new signer key and verifier key, one per line
//	go-note sign SKEY           signs the note text on stdin, prints the signed note
//	go-note open VKEY           opens the signed note on stdin, prints its text
//
// Errors go to stderr with exit status 1.
package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"

	"golang.org/x/mod/sumdb/note"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "go-note:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: go-note generate NAME | sign SKEY | open VKEY")
	}
	switch args[0] {
	case "generate":
		skey, vkey, err := note.GenerateKey(rand.Reader, args[1])
		if err != nil {
			return err
		}
		fmt.Printf("%s\n%s\n", skey, vkey)
		return nil
	case "sign":
		signer, err := note.NewSigner(args[1])
		if err != nil {
			return err
		}
		text, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(msg)
		return err
	case "open":
		verifier, err := note.NewVerifier(args[1])
		if err != nil {
			return err
		}
		msg, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		n, err := note.Open(msg, note.VerifierList(verifier))
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write([]byte(n.Text))
		return err
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
}
