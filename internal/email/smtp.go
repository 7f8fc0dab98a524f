package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"time"
)

// ErrPermanent is matched by a delivery error the SMTP server gave as
// permanent (a 5xx reply): retrying will not help.
var ErrPermanent = errors.New("email: permanent SMTP failure")

// BuildMessage returns m as an RFC 5322 message from the address from:
// multipart/alternative with a text/plain and a text/html part, both
// UTF-8 and quoted-printable, with CRLF line ends.
func BuildMessage(from string, m Message) ([]byte, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, part := range []struct{ ctype, content string }{
		{"text/plain; charset=utf-8", m.TextBody},
		{"text/html; charset=utf-8", m.HTMLBody},
	} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {part.ctype}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, fmt.Errorf("email: build %s: %w", m.ID, err)
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(part.content)); err != nil {
			return nil, fmt.Errorf("email: build %s: %w", m.ID, err)
		}
		if err := qp.Close(); err != nil {
			return nil, fmt.Errorf("email: build %s: %w", m.ID, err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("email: build %s: %w", m.ID, err)
	}
	var out bytes.Buffer
	for _, h := range [][2]string{
		{"From", "Causeway <" + from + ">"},
		{"To", m.To},
		{"Subject", mime.QEncoding.Encode("utf-8", m.Subject)},
		{"Date", m.CreatedAt.Format(time.RFC1123Z)},
		{"Message-ID", "<" + m.ID + "@causeway>"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "multipart/alternative; boundary=" + mw.Boundary()},
		{"X-Causeway-Order-Id", m.OrderID},
		{"X-Causeway-Kind", string(m.Kind)},
		{"X-Causeway-Correlation-Id", m.CorrelationID},
		{"X-Causeway-Causation-Id", m.CausationID},
	} {
		out.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	out.WriteString("\r\n")
	out.Write(body.Bytes())
	return out.Bytes(), nil
}

// smtpConn is one SMTP session that delivers several mails in a row.
type smtpConn struct {
	conn    net.Conn
	c       *smtp.Client
	timeout time.Duration
}

// dialSMTP connects to addr and greets it (EHLO, falling back to HELO).
func dialSMTP(ctx context.Context, addr, helo string, timeout time.Duration) (*smtpConn, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("email: smtp dial %s: %w", addr, err)
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	host, _, _ := net.SplitHostPort(addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("email: smtp greeting from %s: %w", addr, classify(err))
	}
	if err := c.Hello(helo); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("email: smtp hello to %s: %w", addr, classify(err))
	}
	return &smtpConn{conn: conn, c: c, timeout: timeout}, nil
}

// send delivers one message: MAIL FROM, RCPT TO, DATA. It returns nil only
// when the server accepted the data (250). After an error the session may
// still be usable (reset reports whether it is).
func (s *smtpConn) send(from, to string, msg []byte) error {
	_ = s.conn.SetDeadline(time.Now().Add(s.timeout))
	if err := s.c.Mail(from); err != nil {
		return fmt.Errorf("MAIL FROM: %w", classify(err))
	}
	if err := s.c.Rcpt(to); err != nil {
		return fmt.Errorf("RCPT TO: %w", classify(err))
	}
	w, err := s.c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", classify(err))
	}
	if _, err := w.Write(msg); err != nil {
		_ = w.Close()
		return fmt.Errorf("DATA: %w", classify(err))
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", classify(err))
	}
	return nil
}

// reset aborts a failed transaction (RSET); false means the session is
// broken and must be closed.
func (s *smtpConn) reset() bool {
	_ = s.conn.SetDeadline(time.Now().Add(s.timeout))
	return s.c.Reset() == nil
}

// close ends the session (QUIT), or drops the connection.
func (s *smtpConn) close() {
	_ = s.conn.SetDeadline(time.Now().Add(s.timeout))
	if err := s.c.Quit(); err != nil {
		_ = s.c.Close()
	}
}

// classify wraps a 5xx reply with ErrPermanent.
func classify(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code < 600 {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	return err
}
