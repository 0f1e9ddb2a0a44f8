package sentiment

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Rating is one line of a sentiment ground-truth file.
type Rating struct {
	ID     string
	Rating float64 // human mean, -4..4
	Text   string
}

// Document returns the document a rated snippet comes from when its id says so
// (document_sentence, as in the editorial snippets: "12_3" is article 12), else "".
func (r Rating) Document() string {
	if d, _, ok := strings.Cut(r.ID, "_"); ok {
		return d
	}
	return ""
}

// ReadRatings reads id<TAB>mean_rating<TAB>text lines.
func ReadRatings(path string) ([]Rating, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Rating
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		p := strings.SplitN(sc.Text(), "\t", 3)
		if len(p) < 3 {
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			return nil, fmt.Errorf("%s:%d: want id<TAB>rating<TAB>text", path, line)
		}
		y, err := strconv.ParseFloat(strings.TrimSpace(p[1]), 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: rating: %w", path, line, err)
		}
		out = append(out, Rating{ID: p[0], Rating: y, Text: p[2]})
	}
	return out, sc.Err()
}
