// Package namesgen makes container names like Docker's: adjective_surname.
package namesgen

import (
	"fmt"
	"math/rand/v2"
)

var left = []string{
	"admiring", "brave", "busy", "clever", "cool", "dazzling", "eager", "elegant", "epic", "focused",
	"gallant", "gifted", "happy", "hopeful", "jolly", "keen", "kind", "lucid", "modest", "nifty",
	"optimistic", "peaceful", "quirky", "relaxed", "serene", "sharp", "stoic", "sweet", "tender", "vibrant",
	"wizardly", "youthful", "zealous", "zen",
}

var right = []string{
	"albattani", "banach", "bohr", "curie", "darwin", "dijkstra", "einstein", "euler", "fermi", "galileo",
	"goldberg", "hopper", "hypatia", "johnson", "kepler", "knuth", "lamport", "lovelace", "mccarthy", "meitner",
	"newton", "noether", "pascal", "pike", "ritchie", "shannon", "thompson", "torvalds", "turing", "wozniak",
}

// Name returns a random name; retry > 0 appends a digit, as Docker does.
func Name(retry int) string {
	n := fmt.Sprintf("%s_%s", left[rand.IntN(len(left))], right[rand.IntN(len(right))])
	if retry > 0 {
		n = fmt.Sprintf("%s%d", n, rand.IntN(10))
	}
	return n
}
