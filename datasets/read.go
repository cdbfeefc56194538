package datasets

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// inputFile reads a file while hashing every byte, so that the digest a
// Dataset reports is of exactly the bytes the loader parsed.
type inputFile struct {
	path string
	f    *os.File
	h    hash.Hash // SHA-256
	m    hash.Hash // MD5, for releases that publish only that
	n    int64
}

func openInput(path string) (*inputFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &inputFile{path: path, f: f, h: sha256.New(), m: md5.New()}, nil
}

func (in *inputFile) Read(p []byte) (int, error) {
	n, err := in.f.Read(p)
	in.h.Write(p[:n])
	in.m.Write(p[:n])
	in.n += int64(n)
	return n, err
}

// finish hashes whatever the parser left unread, closes the file and
// returns its FileInfo.
func (in *inputFile) finish() (FileInfo, error) {
	defer in.f.Close()
	if _, err := io.Copy(io.Discard, in); err != nil {
		return FileInfo{}, fmt.Errorf("%s: %w", in.path, err)
	}
	return FileInfo{Path: in.path, Size: in.n, SHA256: hex.EncodeToString(in.h.Sum(nil)), MD5: hex.EncodeToString(in.m.Sum(nil))}, nil
}

func (in *inputFile) close() { in.f.Close() }

// readWhole reads a small file and returns its bytes and FileInfo.
func readWhole(path string) ([]byte, FileInfo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, FileInfo{}, err
	}
	sum, m := sha256.Sum256(data), md5.Sum(data)
	return data, FileInfo{Path: path, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), MD5: hex.EncodeToString(m[:])}, nil
}

// lineReader yields the lines of a UTF-8 text file with their 1-based
// numbers, without the line terminator ("\n" or "\r\n") and without a
// leading byte-order mark. Any line of any length is accepted.
type lineReader struct {
	r    *bufio.Reader
	file string
	line int
}

func newLineReader(r io.Reader, file string) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 1<<16), file: file}
}

// next returns the next line, decoded and checked as UTF-8; ok is false at
// the end of the file.
func (lr *lineReader) next() (line string, ok bool, err error) {
	b, err := lr.r.ReadBytes('\n')
	if len(b) == 0 && err == io.EOF {
		return "", false, nil
	}
	if err != nil && err != io.EOF {
		return "", false, fmt.Errorf("%s: %w", lr.file, err)
	}
	lr.line++
	b = trimEOL(b)
	if lr.line == 1 {
		b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	}
	s, ferr := decodeUTF8(lr.file, lr.line, b)
	if ferr != nil {
		return "", false, ferr
	}
	return s, true, nil
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// decodeUTF8 checks that b is text in UTF-8 and returns it as a string.
func decodeUTF8(file string, line int, b []byte) (string, error) {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return "", formatErrorf(file, line, "NUL byte at column %d: not a text file in UTF-8 (UTF-16?)", i+1)
	}
	if !utf8.Valid(b) {
		col := 0
		for i := 0; i < len(b); {
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				col = i + 1
				break
			}
			i += size
		}
		return "", formatErrorf(file, line, "invalid UTF-8 (byte 0x%02x at column %d); want UTF-8 text", b[col-1], col)
	}
	return string(b), nil
}

// windows1252 maps bytes 0x80-0x9F to the characters Windows-1252 gives
// them. ISO-8859-1 has only C1 control codes there, which never occur as
// text; the 8-bit releases that say "ISO-8859-1" (TREC, MR) use these bytes
// as Windows punctuation (MR's 0x85 is an ellipsis, 0x96 and 0x97 dashes).
// The five bytes Windows-1252 leaves undefined map to the C1 code points,
// as the WHATWG Encoding Standard does.
var windows1252 = [32]rune{
	'\u20AC', '\u0081', '\u201A', '\u0192', '\u201E', '\u2026', '\u2020', '\u2021',
	'\u02C6', '\u2030', '\u0160', '\u2039', '\u0152', '\u008D', '\u017D', '\u008F',
	'\u0090', '\u2018', '\u2019', '\u201C', '\u201D', '\u2022', '\u2013', '\u2014',
	'\u02DC', '\u2122', '\u0161', '\u203A', '\u0153', '\u009D', '\u017E', '\u0178',
}

// decodeLatin1 decodes ISO-8859-1 (with Windows-1252 in 0x80-0x9F) to UTF-8.
func decodeLatin1(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/8)
	for _, c := range b {
		switch {
		case c < 0x80:
			sb.WriteByte(c)
		case c < 0xA0:
			sb.WriteRune(windows1252[c-0x80])
		default:
			sb.WriteRune(rune(c))
		}
	}
	return sb.String()
}

// legacyLines reads an 8-bit text file released as ISO-8859-1 and returns
// its lines in UTF-8. A copy that someone already converted to UTF-8 (valid
// UTF-8 with non-ASCII characters) is read as UTF-8 rather than decoded
// twice; the note says which encoding was used. A NUL byte is an error: the
// file is not 8-bit text.
func legacyLines(path string) (lines []string, info FileInfo, note string, err error) {
	data, info, err := readWhole(path)
	if err != nil {
		return nil, info, "", err
	}
	if len(data) == 0 {
		return nil, info, "", formatErrorf(path, 0, "empty file")
	}
	raw := bytes.Split(data, []byte("\n"))
	if len(raw[len(raw)-1]) == 0 {
		raw = raw[:len(raw)-1]
	}
	asUTF8 := utf8.Valid(data)
	switch {
	case isASCII(data):
		note = "ASCII"
	case asUTF8:
		note = "already UTF-8, read as such"
	default:
		note = "ISO-8859-1 (Windows-1252) decoded to UTF-8"
	}
	lines = make([]string, len(raw))
	for i, l := range raw {
		l = bytes.TrimSuffix(l, []byte("\r"))
		if j := bytes.IndexByte(l, 0); j >= 0 {
			return nil, info, "", formatErrorf(path, i+1, "NUL byte at column %d: not an 8-bit text file (UTF-16?)", j+1)
		}
		if asUTF8 {
			if i == 0 {
				l = bytes.TrimPrefix(l, []byte("\uFEFF"))
			}
			lines[i] = string(l)
		} else {
			lines[i] = decodeLatin1(l)
		}
	}
	return lines, info, note, nil
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
