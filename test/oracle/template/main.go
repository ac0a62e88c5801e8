// Oracle for our Go text/template subset: runs each case of the corpus (stdin, JSON) through Go's
// own text/template and prints the results as JSON. Regenerate the fixture with
//   go run test/oracle/template/main.go < test/oracle/template/corpus.json > test/fixtures/template-cases.json
package main

import (
	"bytes"
	"encoding/json"
	"os"
	"text/template"
)

type Case struct {
	Template string          `json:"template"`
	Data     json.RawMessage `json:"data"`
	Struct   bool            `json:"struct,omitempty"`
	Note     string          `json:"note,omitempty"`
	Out      *string         `json:"out,omitempty"`
	Err      *string         `json:"err,omitempty"`
}

// Item stands for ls's HostListItem: a struct, so unknown fields are errors.
type Item struct {
	Name          string
	Active        string
	ActiveHost    bool
	DriverName    string
	State         string
	URL           string
	Error         string
	DockerVersion string
}

func main() {
	var cases []Case
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		panic(err)
	}
	funcs := template.FuncMap{
		"json": func(v interface{}) string {
			b, _ := json.Marshal(v)
			return string(b)
		},
		"prettyjson": func(v interface{}) string {
			b, _ := json.MarshalIndent(v, "", "    ")
			return string(b)
		},
	}
	for i := range cases {
		c := &cases[i]
		var data interface{}
		if c.Struct {
			var it Item
			json.Unmarshal(c.Data, &it)
			data = it
		} else {
			json.Unmarshal(c.Data, &data)
		}
		t, err := template.New("").Funcs(funcs).Parse(c.Template)
		if err == nil {
			var buf bytes.Buffer
			err = t.Execute(&buf, data)
			if err == nil {
				s := buf.String()
				c.Out = &s
			}
		}
		if err != nil {
			s := err.Error()
			c.Err = &s
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(cases)
}
