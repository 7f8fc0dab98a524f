package email

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// Rendered is a mail's subject and bodies.
type Rendered struct {
	Subject, Text, HTML string
}

// Renderer renders mails from the templates embedded in the binary: per
// kind, templates/<kind>.txt.tmpl (text/template, defining "subject" and
// the text body) and templates/<kind>.html.tmpl (html/template, defining
// "content" inside templates/layout.html.tmpl). It is safe for concurrent
// use.
type Renderer struct {
	text map[Kind]*texttemplate.Template
	html map[Kind]*htmltemplate.Template
}

// NewRenderer parses the embedded templates.
func NewRenderer() (*Renderer, error) {
	r := &Renderer{text: map[Kind]*texttemplate.Template{}, html: map[Kind]*htmltemplate.Template{}}
	for _, k := range []Kind{KindReceived, KindShipped, KindCancelled} {
		tt, err := texttemplate.New(string(k)+".txt.tmpl").Option("missingkey=error").ParseFS(templateFS, "templates/"+string(k)+".txt.tmpl")
		if err != nil {
			return nil, fmt.Errorf("email: template %s: %w", k, err)
		}
		ht, err := htmltemplate.New("layout.html.tmpl").Option("missingkey=error").ParseFS(templateFS, "templates/layout.html.tmpl", "templates/"+string(k)+".html.tmpl")
		if err != nil {
			return nil, fmt.Errorf("email: template %s: %w", k, err)
		}
		r.text[k], r.html[k] = tt, ht
	}
	return r, nil
}

// lineView is one order line with its amounts formatted.
type lineView struct {
	ProductID string
	Quantity  int
	UnitPrice string
	LineTotal string
}

// view is what the templates see.
type view struct {
	Subject                 string
	OrderID, Name           string
	Lines                   []lineView
	Total                   string
	Carrier, TrackingNumber string
	ReasonText, MoneyText   string
}

func newView(o Order, s Step) view {
	v := view{OrderID: o.OrderID, Name: o.Name, Carrier: s.Carrier, TrackingNumber: s.TrackingNumber,
		ReasonText: ReasonText(s.Reason), MoneyText: MoneyText(s.Reason)}
	if v.Name == "" {
		v.Name = "customer"
	}
	if o.Known() {
		v.Total = FormatMoney(o.TotalMinor, o.Currency)
		for _, l := range o.Lines {
			v.Lines = append(v.Lines, lineView{ProductID: l.ProductID, Quantity: l.Quantity,
				UnitPrice: FormatMoney(l.UnitPriceMinor, o.Currency), LineTotal: FormatMoney(l.UnitPriceMinor*int64(l.Quantity), o.Currency)})
		}
	}
	return v
}

// Render renders the mail about step s of order o. o may be unknown (no
// order.placed seen): the mail then has no lines and no total.
func (r *Renderer) Render(o Order, s Step) (Rendered, error) {
	tt, ok := r.text[s.Kind]
	if !ok {
		return Rendered{}, fmt.Errorf("email: no template for kind %q", s.Kind)
	}
	v := newView(o, s)
	var subj, text, html bytes.Buffer
	if err := tt.ExecuteTemplate(&subj, "subject", v); err != nil {
		return Rendered{}, fmt.Errorf("email: render %s subject: %w", s.Kind, err)
	}
	v.Subject = strings.TrimSpace(subj.String())
	if err := tt.Execute(&text, v); err != nil {
		return Rendered{}, fmt.Errorf("email: render %s text: %w", s.Kind, err)
	}
	if err := r.html[s.Kind].ExecuteTemplate(&html, "layout", v); err != nil {
		return Rendered{}, fmt.Errorf("email: render %s html: %w", s.Kind, err)
	}
	return Rendered{Subject: v.Subject, Text: strings.TrimLeft(text.String(), "\n"), HTML: html.String()}, nil
}
