package audit

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Segment and checkpoint files are sequences of framed records:
//
//	uint32 big-endian payload length
//	uint32 big-endian CRC-32C of the payload
//	payload
//
// The CRC only detects torn writes and media errors; tamper evidence comes
// from the Merkle tree and the signed checkpoints.

const recordHeaderSize = 8

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errTornRecord reports a record cut short by the end of the file: the tail
// of an interrupted write.
var errTornRecord = errors.New("partial record at end of file")

// errBadChecksum reports a record whose payload does not match its CRC.
var errBadChecksum = errors.New("record checksum mismatch")

// appendRecord appends the framed payload to buf.
func appendRecord(buf, payload []byte) []byte {
	var h [recordHeaderSize]byte
	binary.BigEndian.PutUint32(h[0:4], uint32(len(payload)))
	binary.BigEndian.PutUint32(h[4:8], crc32.Checksum(payload, crcTable))
	buf = append(buf, h[:]...)
	return append(buf, payload...)
}

// recordScanner reads framed records sequentially.
type recordScanner struct {
	r   *bufio.Reader
	off int64 // offset of the next record
	max int   // largest acceptable payload
	buf []byte
}

func newRecordScanner(r io.Reader, max int) *recordScanner {
	return &recordScanner{r: bufio.NewReaderSize(r, 1<<20), max: max}
}

// next returns the next payload and its record offset. The payload is valid
// until the following call. At a clean end it returns io.EOF; a record cut
// short returns errTornRecord. A payload that does not match its checksum
// is returned with errBadChecksum and the scanner moves past it; a length
// above max also returns errBadChecksum, and the framing can no longer be
// trusted.
func (s *recordScanner) next() (payload []byte, off int64, err error) {
	var h [recordHeaderSize]byte
	_, err = io.ReadFull(s.r, h[:])
	if err == io.EOF {
		return nil, s.off, io.EOF
	}
	if err == io.ErrUnexpectedEOF {
		return nil, s.off, errTornRecord
	}
	if err != nil {
		return nil, s.off, fmt.Errorf("read record header: %w", err)
	}
	size := binary.BigEndian.Uint32(h[0:4])
	sum := binary.BigEndian.Uint32(h[4:8])
	if int64(size) > int64(s.max) {
		return nil, s.off, fmt.Errorf("record of %d bytes: %w", size, errBadChecksum)
	}
	if cap(s.buf) < int(size) {
		s.buf = make([]byte, size)
	}
	s.buf = s.buf[:size]
	if _, err := io.ReadFull(s.r, s.buf); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, s.off, errTornRecord
		}
		return nil, s.off, fmt.Errorf("read record: %w", err)
	}
	off = s.off
	s.off += recordHeaderSize + int64(size)
	if crc32.Checksum(s.buf, crcTable) != sum {
		return s.buf, off, errBadChecksum
	}
	return s.buf, off, nil
}

// readRecordAt reads the record at off from r.
func readRecordAt(r io.ReaderAt, off int64, max int) ([]byte, error) {
	var h [recordHeaderSize]byte
	if _, err := r.ReadAt(h[:], off); err != nil {
		return nil, fmt.Errorf("read record header: %w", err)
	}
	size := binary.BigEndian.Uint32(h[0:4])
	if int64(size) > int64(max) {
		return nil, fmt.Errorf("record of %d bytes: %w", size, errBadChecksum)
	}
	buf := make([]byte, size)
	if _, err := r.ReadAt(buf, off+recordHeaderSize); err != nil {
		return nil, fmt.Errorf("read record: %w", err)
	}
	if crc32.Checksum(buf, crcTable) != binary.BigEndian.Uint32(h[4:8]) {
		return nil, errBadChecksum
	}
	return buf, nil
}
