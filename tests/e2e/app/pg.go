package main

// A minimal PostgreSQL client (protocol 3.0, simple queries), enough for the
// suite: password, MD5 and SCRAM-SHA-256 authentication, text results.

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

type pgConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func pgConnect(host, port, user, password, database string) (*pgConn, error) {
	if host == "" {
		return nil, errors.New("DB_HOST is not set")
	}
	if port == "" {
		port = "5432"
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 5*time.Second)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	c := &pgConn{conn: conn, r: bufio.NewReader(conn)}
	if err := c.startup(user, password, database); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func (c *pgConn) Close() {
	c.send('X', nil)
	c.conn.Close()
}

func (c *pgConn) send(kind byte, body []byte) error {
	msg := make([]byte, 0, 5+len(body))
	if kind != 0 {
		msg = append(msg, kind)
	}
	msg = binary.BigEndian.AppendUint32(msg, uint32(4+len(body)))
	msg = append(msg, body...)
	_, err := c.conn.Write(msg)
	return err
}

func (c *pgConn) receive() (byte, []byte, error) {
	var head [5]byte
	if _, err := io.ReadFull(c.r, head[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(head[1:])
	if n < 4 || n > 1<<24 {
		return 0, nil, fmt.Errorf("bad message length %d", n)
	}
	body := make([]byte, n-4)
	_, err := io.ReadFull(c.r, body)
	return head[0], body, err
}

func cstring(s string) []byte { return append([]byte(s), 0) }

// pgError renders an ErrorResponse body.
func pgError(body []byte) error {
	fields := map[byte]string{}
	for len(body) > 1 {
		t := body[0]
		end := bytes.IndexByte(body[1:], 0)
		if end < 0 {
			break
		}
		fields[t] = string(body[1 : 1+end])
		body = body[2+end:]
	}
	return fmt.Errorf("postgres: %s %s: %s", fields['S'], fields['C'], fields['M'])
}

func (c *pgConn) startup(user, password, database string) error {
	var body []byte
	body = binary.BigEndian.AppendUint32(body, 196608)
	for _, kv := range [][2]string{{"user", user}, {"database", database}} {
		body = append(body, cstring(kv[0])...)
		body = append(body, cstring(kv[1])...)
	}
	body = append(body, 0)
	if err := c.send(0, body); err != nil {
		return err
	}
	var scram *scramState
	for {
		kind, body, err := c.receive()
		if err != nil {
			return err
		}
		switch kind {
		case 'E':
			return pgError(body)
		case 'Z':
			return nil
		case 'R':
			if len(body) < 4 {
				return errors.New("short authentication request")
			}
			code := binary.BigEndian.Uint32(body)
			data := body[4:]
			switch code {
			case 0: // ok
			case 3: // cleartext
				err = c.send('p', cstring(password))
			case 5: // md5
				inner := md5.Sum([]byte(password + user))
				outer := md5.Sum(append([]byte(hex.EncodeToString(inner[:])), data[:4]...))
				err = c.send('p', cstring("md5"+hex.EncodeToString(outer[:])))
			case 10: // SASL: the mechanisms offered
				if !bytes.Contains(data, []byte("SCRAM-SHA-256\x00")) {
					return fmt.Errorf("no supported SASL mechanism in %q", data)
				}
				scram = newScram(password)
				first := []byte(scram.clientFirst())
				msg := cstring("SCRAM-SHA-256")
				msg = binary.BigEndian.AppendUint32(msg, uint32(len(first)))
				msg = append(msg, first...)
				err = c.send('p', msg)
			case 11: // SASL continue
				if scram == nil {
					return errors.New("SASL continue before SASL start")
				}
				final, ferr := scram.clientFinal(string(data))
				if ferr != nil {
					return ferr
				}
				err = c.send('p', []byte(final))
			case 12: // SASL final
				if scram == nil || !scram.verify(string(data)) {
					return errors.New("the server's SCRAM signature does not match")
				}
			default:
				return fmt.Errorf("unsupported authentication method %d", code)
			}
			if err != nil {
				return err
			}
		}
	}
}

// Query runs one statement and returns its rows as text.
func (c *pgConn) Query(sql string) ([][]string, error) {
	if err := c.send('Q', cstring(sql)); err != nil {
		return nil, err
	}
	var rows [][]string
	var failure error
	for {
		kind, body, err := c.receive()
		if err != nil {
			return nil, err
		}
		switch kind {
		case 'E':
			failure = pgError(body)
		case 'D':
			n := int(binary.BigEndian.Uint16(body))
			body = body[2:]
			row := make([]string, 0, n)
			for i := 0; i < n; i++ {
				l := int32(binary.BigEndian.Uint32(body))
				body = body[4:]
				if l < 0 {
					row = append(row, "")
					continue
				}
				row = append(row, string(body[:l]))
				body = body[l:]
			}
			rows = append(rows, row)
		case 'Z':
			return rows, failure
		}
	}
}

// SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it: no channel
// binding, the user name taken from the startup message.
type scramState struct {
	password, nonce, clientFirstBare, authMessage string
	salted                                        []byte
}

func newScram(password string) *scramState {
	raw := make([]byte, 18)
	rand.Read(raw)
	return &scramState{password: password, nonce: base64.StdEncoding.EncodeToString(raw)}
}

func (s *scramState) clientFirst() string {
	s.clientFirstBare = "n=,r=" + s.nonce
	return "n,," + s.clientFirstBare
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// pbkdf2 with HMAC-SHA-256, one 32-byte block.
func pbkdf2(password, salt []byte, iterations int) []byte {
	u := hmacSHA256(password, append(append([]byte{}, salt...), 0, 0, 0, 1))
	out := append([]byte{}, u...)
	for i := 1; i < iterations; i++ {
		u = hmacSHA256(password, u)
		for j := range out {
			out[j] ^= u[j]
		}
	}
	return out
}

func (s *scramState) clientFinal(serverFirst string) (string, error) {
	var nonce, salt string
	iterations := 0
	for _, attr := range strings.Split(serverFirst, ",") {
		switch {
		case strings.HasPrefix(attr, "r="):
			nonce = attr[2:]
		case strings.HasPrefix(attr, "s="):
			salt = attr[2:]
		case strings.HasPrefix(attr, "i="):
			fmt.Sscan(attr[2:], &iterations)
		}
	}
	if !strings.HasPrefix(nonce, s.nonce) || iterations <= 0 {
		return "", fmt.Errorf("bad SCRAM server-first message %q", serverFirst)
	}
	rawSalt, err := base64.StdEncoding.DecodeString(salt)
	if err != nil {
		return "", err
	}
	s.salted = pbkdf2([]byte(s.password), rawSalt, iterations)
	withoutProof := "c=biws,r=" + nonce
	s.authMessage = s.clientFirstBare + "," + serverFirst + "," + withoutProof
	clientKey := hmacSHA256(s.salted, []byte("Client Key"))
	stored := sha256.Sum256(clientKey)
	signature := hmacSHA256(stored[:], []byte(s.authMessage))
	proof := make([]byte, len(clientKey))
	for i := range clientKey {
		proof[i] = clientKey[i] ^ signature[i]
	}
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
}

func (s *scramState) verify(serverFinal string) bool {
	serverKey := hmacSHA256(s.salted, []byte("Server Key"))
	want := base64.StdEncoding.EncodeToString(hmacSHA256(serverKey, []byte(s.authMessage)))
	return strings.TrimSpace(serverFinal) == "v="+want
}
