package kafka

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// orDiscard returns l, or a logger that discards everything when l is nil.
func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return l
}

// kgoLogger adapts a *slog.Logger to kgo.Logger.
type kgoLogger struct {
	l     *slog.Logger
	level kgo.LogLevel
}

// newKgoLogger returns a kgo.Logger writing to l at the most verbose level
// that l has enabled (kgo's debug level maps to slog's debug level).
func newKgoLogger(l *slog.Logger) kgo.Logger {
	level := kgo.LogLevelNone
	ctx := context.Background()
	switch {
	case l.Enabled(ctx, slog.LevelDebug):
		level = kgo.LogLevelDebug
	case l.Enabled(ctx, slog.LevelInfo):
		level = kgo.LogLevelInfo
	case l.Enabled(ctx, slog.LevelWarn):
		level = kgo.LogLevelWarn
	case l.Enabled(ctx, slog.LevelError):
		level = kgo.LogLevelError
	}
	return &kgoLogger{l: l, level: level}
}

// Level is the most verbose level the slog logger has enabled.
func (k *kgoLogger) Level() kgo.LogLevel { return k.level }

// Log forwards one kgo log line.
func (k *kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	k.l.Log(context.Background(), kgoToSlog(level), msg, keyvals...)
}

func kgoToSlog(level kgo.LogLevel) slog.Level {
	switch level {
	case kgo.LogLevelError:
		return slog.LevelError
	case kgo.LogLevelWarn:
		return slog.LevelWarn
	case kgo.LogLevelInfo:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}

// kfakeLogger adapts a *slog.Logger to kfake.Logger. kfake logs every
// request at info level, so its info is mapped to slog's debug level.
type kfakeLogger struct{ l *slog.Logger }

// Logf forwards one kfake log line.
func (k kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	var sl slog.Level
	switch level {
	case kfake.LogLevelNone:
		return
	case kfake.LogLevelError:
		sl = slog.LevelError
	case kfake.LogLevelWarn:
		sl = slog.LevelWarn
	default:
		sl = slog.LevelDebug
	}
	ctx := context.Background()
	if !k.l.Enabled(ctx, sl) {
		return
	}
	k.l.Log(ctx, sl, fmt.Sprintf(format, args...))
}
