package email_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/internal/email"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// smtpServer is a minimal SMTP server on 127.0.0.1:0: HELO/EHLO, MAIL
// FROM, RCPT TO, DATA (with dot-unstuffing), RSET, NOOP, QUIT. reply, when
// set, picks the reply to a command ("DATA-END" for the end of the data)
// instead of the default success.
type smtpServer struct {
	ln    net.Listener
	mu    sync.Mutex
	got   []received
	reply func(cmd string, n int) string // n: how many times cmd was seen, from 1
	seen  map[string]int
	wg    sync.WaitGroup
}

type received struct {
	from string
	to   []string
	data string
}

func startSMTP(t *testing.T, reply func(cmd string, n int) string) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, reply: reply, seen: map[string]int{}}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *smtpServer) answer(cmd, ok string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[cmd]++
	if s.reply != nil {
		if r := s.reply(cmd, s.seen[cmd]); r != "" {
			return r
		}
	}
	return ok
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	say := func(line string) { fmt.Fprintf(c, "%s\r\n", line) }
	say("220 test ESMTP")
	var cur received
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO", "HELO":
			say(s.answer(verb, "250 test"))
		case "MAIL":
			cur = received{from: strings.TrimPrefix(line, "MAIL FROM:")}
			say(s.answer(verb, "250 ok"))
		case "RCPT":
			res := s.answer(verb, "250 ok")
			if strings.HasPrefix(res, "250") {
				cur.to = append(cur.to, strings.TrimPrefix(line, "RCPT TO:"))
			}
			say(res)
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
			res := s.answer("DATA-END", "250 queued")
			if strings.HasPrefix(res, "250") {
				cur.data = b.String()
				s.mu.Lock()
				s.got = append(s.got, cur)
				s.mu.Unlock()
			}
			say(res)
		case "RSET", "NOOP":
			cur = received{}
			say("250 ok")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

func (s *smtpServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

func TestSenderDeliversOverSMTP(t *testing.T) {
	ctx := context.Background()
	srv := startSMTP(t, nil)
	f := newFixture(t, sqltest.SQLite, email.WithSending(true))
	f.handle(orderEnv(t, placed("o-1", "u-1"), "c-1"), "u-1")
	f.handle(orderEnv(t, order.Cancelled{OrderID: "o-1", Reason: order.ReasonPaymentFailed, CancelledAt: at}, "c-1"), "u-1")

	s := email.NewSender(f.db, srv.ln.Addr().String(), email.WithSenderClock(func() time.Time { return *f.clock }))
	round, err := s.SendDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if round != (email.Round{Claimed: 2, Sent: 2}) {
		t.Errorf("round: got %+v, want 2 claimed, 2 sent", round)
	}
	got := srv.received()
	if len(got) != 2 {
		t.Fatalf("server got %d mails, want 2", len(got))
	}
	msg, err := mail.ReadMessage(strings.NewReader(got[0].data))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].from != "<orders@example.test>" || len(got[0].to) != 1 || got[0].to[0] != "<u-1@example.test>" {
		t.Errorf("envelope: from %q to %q", got[0].from, got[0].to)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "We received your order o-1" || msg.Header.Get("X-Causeway-Correlation-Id") != "c-1" {
		t.Errorf("headers: %v", msg.Header)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q: %v", mt, err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p) // NextPart decodes quoted-printable
		types = append(types, p.Header.Get("Content-Type"))
		if !strings.Contains(string(b), "o-1") {
			t.Errorf("part %s lacks the order id: %q", p.Header.Get("Content-Type"), b)
		}
	}
	if strings.Join(types, ",") != "text/plain; charset=utf-8,text/html; charset=utf-8" {
		t.Errorf("parts: %v", types)
	}

	mails, err := f.box.List(ctx, email.Query{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mails {
		if m.SendStatus != email.SendSent || m.SentAt == nil {
			t.Errorf("%s: status %s, sentAt %v", m.ID, m.SendStatus, m.SentAt)
		}
	}
	// Nothing is left to send.
	if round, err := s.SendDue(ctx); err != nil || round.Claimed != 0 {
		t.Errorf("second round: got %+v, %v", round, err)
	}
}

// TestSenderRetries: transient failures (4xx, a dead server) are retried
// after the backoff; a 5xx fails the mail at once; running out of
// attempts fails it too. Only a 250 after DATA marks a mail sent.
func TestSenderRetries(t *testing.T) {
	tests := []struct {
		name     string
		reply    func(cmd string, n int) string
		attempts int
		rounds   []email.Round
		want     email.SendStatus
	}{
		{"4xx after data, then accepted", func(cmd string, n int) string {
			if cmd == "DATA-END" && n <= 2 {
				return "451 try again later"
			}
			return ""
		}, 10, []email.Round{{Claimed: 1, Retried: 1}, {Claimed: 1, Retried: 1}, {Claimed: 1, Sent: 1}}, email.SendSent},
		{"5xx recipient", func(cmd string, n int) string {
			if cmd == "RCPT" {
				return "550 no such user"
			}
			return ""
		}, 10, []email.Round{{Claimed: 1, Failed: 1}}, email.SendFailed},
		{"4xx until out of attempts", func(cmd string, n int) string {
			if cmd == "MAIL" {
				return "421 busy"
			}
			return ""
		}, 2, []email.Round{{Claimed: 1, Retried: 1}, {Claimed: 1, Failed: 1}}, email.SendFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			srv := startSMTP(t, tt.reply)
			f := newFixture(t, sqltest.SQLite, email.WithSending(true))
			f.handle(orderEnv(t, placed("o-1", "u-1"), "c-1"), "u-1")
			s := email.NewSender(f.db, srv.ln.Addr().String(), email.WithSenderClock(func() time.Time { return *f.clock }),
				email.WithSendAttempts(tt.attempts), email.WithSendBackoff(time.Minute, time.Hour))
			for i, want := range tt.rounds {
				got, err := s.SendDue(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("round %d: got %+v, want %+v", i, got, want)
				}
				// Not due again before the backoff passed.
				if got, err := s.SendDue(ctx); err != nil || got.Claimed != 0 {
					t.Errorf("round %d, again at once: got %+v, %v", i, got, err)
				}
				*f.clock = f.clock.Add(time.Hour)
			}
			m, err := f.box.Get(ctx, email.MessageID("o-1", email.KindReceived))
			if err != nil {
				t.Fatal(err)
			}
			if m.SendStatus != tt.want {
				t.Errorf("status: got %s, want %s", m.SendStatus, tt.want)
			}
			if n := len(srv.received()); (n == 1) != (tt.want == email.SendSent) {
				t.Errorf("server accepted %d mails", n)
			}
		})
	}
}

func TestSenderServerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	f := newFixture(t, sqltest.SQLite, email.WithSending(true))
	f.handle(orderEnv(t, placed("o-1", "u-1"), "c-1"), "u-1")
	s := email.NewSender(f.db, addr, email.WithSenderClock(func() time.Time { return *f.clock }), email.WithSMTPTimeout(5*time.Second))
	got, err := s.SendDue(context.Background())
	if err != nil || got != (email.Round{Claimed: 1, Retried: 1}) {
		t.Fatalf("got %+v, %v; want one retry", got, err)
	}
	m, err := f.box.Get(context.Background(), email.MessageID("o-1", email.KindReceived))
	if err != nil || m.SendStatus != email.SendPending {
		t.Errorf("got %+v, %v; want pending", m, err)
	}
}

// TestSenderRunWakesOnCommit: Run, with a one-hour poll, delivers a mail
// queued after it started (the commit notification wakes it).
func TestSenderRunWakesOnCommit(t *testing.T) {
	srv := startSMTP(t, nil)
	f := newFixture(t, sqltest.SQLite, email.WithSending(true))
	s := email.NewSender(f.db, srv.ln.Addr().String(), email.WithSendPoll(time.Hour),
		email.WithSenderClock(func() time.Time { return at.Add(24 * time.Hour) }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	f.handle(orderEnv(t, placed("o-1", "u-1"), "c-1"), "u-1")
	for deadline := time.Now().Add(10 * time.Second); len(srv.received()) == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if n := len(srv.received()); n != 1 {
		t.Errorf("server got %d mails, want 1", n)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempts int
		want     time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {4, 8 * time.Second}, {10, time.Minute}, {1000, time.Minute}}
	for _, tt := range tests {
		if got := email.Backoff(tt.attempts, time.Second, time.Minute); got != tt.want {
			t.Errorf("Backoff(%d): got %v, want %v", tt.attempts, got, tt.want)
		}
	}
}
