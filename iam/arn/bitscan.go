package arn

import "unicode/utf8"

// bitScanMin is the shortest segment (in characters) searched bit-parallel;
// shorter segments are cheap to try at every position.
const bitScanMin = 16

// bitScan finds the leftmost occurrence of a star-free segment made of text
// and '?' by the Shift-And algorithm: one bit per segment character, all
// candidate starts advanced together, so a search costs
// O(len(input) × ⌈len(segment)/64⌉) instead of O(len(input) × len(segment)).
// Masks are stored only for the characters the segment contains, so memory
// stays proportional to the segment.
type bitScan struct {
	n     int          // segment length in characters
	words int          // 64-bit words per mask
	ascii [128]uint16  // ASCII char -> mask index (0: not in the segment)
	other map[rune]int // non-ASCII char -> mask index
	masks []uint64     // (1 + distinct chars) masks of words each; mask 0 is '?' positions only
}

// newBitScan builds a searcher for seg, or returns nil when the segment is
// short, holds a variable, or has no '?' (plain text is found with
// strings.Index). When the glob folds case, seg's text is already
// lower-cased and find lower-cases the input.
func newBitScan(seg []Token) *bitScan {
	n, hasOne := 0, false
	for _, t := range seg {
		switch t.Kind {
		case TokenVar:
			return nil
		case TokenOne:
			n++
			hasOne = true
		case TokenText:
			n += utf8.RuneCountInString(t.Text)
		}
	}
	if !hasOne || n < bitScanMin {
		return nil
	}
	b := &bitScan{n: n, words: (n + 63) / 64}
	b.masks = make([]uint64, b.words) // mask 0: '?' positions
	pos := 0
	set := func(mask, bit int) { b.masks[mask*b.words+bit/64] |= 1 << (bit % 64) }
	var ones []int
	for _, t := range seg {
		if t.Kind == TokenOne {
			ones = append(ones, pos)
			set(0, pos)
			pos++
			continue
		}
		for _, r := range t.Text {
			set(b.maskFor(r), pos)
			pos++
		}
	}
	// Every character also matches at the '?' positions.
	for j := 1; j < len(b.masks)/b.words; j++ {
		for _, p := range ones {
			set(j, p)
		}
	}
	return b
}

// maskFor returns the mask index of r, adding a mask when r is new.
func (b *bitScan) maskFor(r rune) int {
	if r < utf8.RuneSelf {
		if j := b.ascii[r]; j != 0 {
			return int(j)
		}
	} else if j, ok := b.other[r]; ok {
		return j
	}
	j := len(b.masks) / b.words
	b.masks = append(b.masks, make([]uint64, b.words)...)
	if r < utf8.RuneSelf {
		b.ascii[r] = uint16(j) // j <= segment length <= policy size limit
	} else {
		if b.other == nil {
			b.other = make(map[rune]int)
		}
		b.other[r] = j
	}
	return j
}

// find returns the end of the leftmost occurrence at or after pos in s.
func (b *bitScan) find(s string, pos int, fold bool) (int, bool) {
	var stack [4]uint64
	var state []uint64
	if b.words <= len(stack) {
		state = stack[:b.words]
	} else {
		state = make([]uint64, b.words)
	}
	last, lastBit := (b.n-1)/64, uint64(1)<<((b.n-1)%64)
	for i := pos; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		if fold && 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		j := 0
		if r < utf8.RuneSelf {
			j = int(b.ascii[r])
		} else if k, ok := b.other[r]; ok {
			j = k
		}
		m := b.masks[j*b.words : (j+1)*b.words]
		carry := uint64(1)
		for w := range state {
			next := state[w]<<1 | carry
			carry = state[w] >> 63
			state[w] = next & m[w]
		}
		if state[last]&lastBit != 0 {
			return i, true
		}
	}
	return 0, false
}
