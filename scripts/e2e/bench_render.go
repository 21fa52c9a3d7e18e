package main

import (
	"fmt"
	"slices"
	"strings"
)

// The report's two renderings: markdown for README's Performance section
// (bench.md, and -copy), plain text with aligned columns for the terminal
// (bench.txt). Both hold the same rows.

// figureHeader heads the figures table, whose rows are report.rows.
var figureHeader = []string{"#", "figure", "measured", "target", "result"}

func (r *report) markdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "## Performance\n\n%s\n\n", r.preamble())
	writeMarkdownTable(&sb, figureHeader, r.rows, true)
	fmt.Fprintf(&sb, "\n%d passed, %d failed.\n", r.passed, r.failed)
	r.writeTables(&sb, "\n### %s\n\n", "%s\n\n", func(header []string, rows [][]string) {
		writeMarkdownTable(&sb, header, rows, false)
	})
	return sb.String()
}

func (r *report) text() string {
	var sb strings.Builder
	sb.WriteString(r.preamble() + "\n\n")
	writeTextTable(&sb, figureHeader, r.rows)
	r.writeTables(&sb, "\n%s\n", "%s\n", func(header []string, rows [][]string) {
		writeTextTable(&sb, header, rows)
	})
	return sb.String()
}

// writeTables writes the tables after the figures (steps, syscalls, the
// micro-benchmarks), each under its title and note, printed with the
// formats given.
func (r *report) writeTables(sb *strings.Builder, titleFormat, noteFormat string, write func(header []string, rows [][]string)) {
	tables := slices.Clone(r.stepTables)
	if r.micro != nil {
		tables = append(tables, *r.micro)
	}
	for _, t := range tables {
		fmt.Fprintf(sb, titleFormat, t.title)
		if t.note != "" {
			fmt.Fprintf(sb, noteFormat, t.note)
		}
		write(t.header, t.rows)
	}
}

// writeMarkdownTable writes a GitHub table; with boldChecks, the figure of
// every row with a result (a checked target) is bold.
func writeMarkdownTable(sb *strings.Builder, header []string, rows [][]string, boldChecks bool) {
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	sb.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		sb.WriteString("---|")
	}
	sb.WriteString("\n")
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = esc(c)
			if rest, ok := strings.CutPrefix(cells[i], "  "); ok {
				cells[i] = "&nbsp;&nbsp;" + rest // markdown drops leading blanks
			}
		}
		if boldChecks && len(row) == 5 && row[4] != "" {
			cells[1] = "**" + strings.TrimSpace(cells[1]) + "**"
		}
		sb.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
}

// writeTextTable writes rows in columns padded to their widest cell, in
// runes: "≤" is one column wide, not three bytes.
func writeTextTable(sb *strings.Builder, header []string, rows [][]string) {
	width := make([]int, len(header))
	for _, row := range append([][]string{header}, rows...) {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(row []string) {
		var cells []string
		for i, c := range row {
			cells = append(cells, c+strings.Repeat(" ", width[i]-len([]rune(c))))
		}
		sb.WriteString(strings.TrimRight(strings.Join(cells, "  "), " ") + "\n")
	}
	line(header)
	seps := make([]string, len(header))
	for i := range seps {
		seps[i] = strings.Repeat("-", width[i])
	}
	line(seps)
	for _, row := range rows {
		line(row)
	}
}
