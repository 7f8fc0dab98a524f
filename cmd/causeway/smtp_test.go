package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpSink is a minimal SMTP server on 127.0.0.1:0 that accepts every
// mail (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and keeps the data.
type smtpSink struct {
	ln   net.Listener
	mu   sync.Mutex
	data []string
}

func startSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{ln: ln}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return s
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(c)
	say := func(line string) { fmt.Fprintf(c, "%s\r\n", line) }
	say("220 sink ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		switch verb := strings.ToUpper(strings.Fields(line + " x")[0]); verb {
		case "EHLO", "HELO", "MAIL", "RCPT", "RSET", "NOOP":
			say("250 ok")
		case "DATA":
			say("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			s.mu.Lock()
			s.data = append(s.data, b.String())
			s.mu.Unlock()
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

func (s *smtpSink) count(substr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, d := range s.data {
		if strings.Contains(d, substr) {
			n++
		}
	}
	return n
}

// TestUpSendsMailOverSMTP: with --smtp-addr, the mails of an order reach
// the SMTP server and the mailbox shows them sent.
func TestUpSendsMailOverSMTP(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end (skipped under -short)")
	}
	sink := startSMTPSink(t)
	up := startUp(t, t.TempDir(), "--smtp-addr", sink.ln.Addr().String())
	base := "http://" + up.rt.HTTPAddr
	o := place(t, base, sagaCases[0], "u-smtp")
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var box struct {
			Messages []struct{ Kind, SendStatus string }
		}
		call(t, "GET", base+"/v1/mailbox?orderId="+o.OrderID, "", nil, &box)
		sent := 0
		for _, m := range box.Messages {
			if m.SendStatus == "sent" {
				sent++
			}
		}
		if sent == 2 {
			if n := sink.count("X-Causeway-Order-Id: " + o.OrderID); n != 2 {
				t.Errorf("SMTP server got %d mails of %s, want 2", n, o.OrderID)
			}
			return
		}
	}
	t.Fatalf("the received and shipped mails of %s were not sent over SMTP (server has %d)", o.OrderID, sink.count(o.OrderID))
}
