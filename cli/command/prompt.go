package command

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Confirm asks a yes/no question and reports whether the answer was yes.
// Anything but "y" or "yes" (any case), including end of input, means no.
func Confirm(in io.Reader, out io.Writer, message string) bool {
	fmt.Fprintf(out, "%s [y/N] ", message)
	answer, _ := bufio.NewReader(in).ReadString('\n')
	answer = strings.ToLower(strings.TrimSpace(answer))
	return answer == "y" || answer == "yes"
}
