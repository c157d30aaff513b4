// DataTable: the sortable, filterable table every list page uses. Built for 10,000 rows: the
// filter's text of each row is made once, when a filter is first typed; at most pageSize rows
// are in the DOM ("show more" adds another page), and a render builds the body in one
// DocumentFragment. A poll that brings the same rows again renders nothing, so a reader's text
// selection survives it.
(function (Dash) {
  "use strict";

  const el = Dash.el;

  // columns: [{key, label, value(row) (what sorts and filters; default row[key]),
  //            render(row) (a Node or text; default the value as text), numeric, sortable}]
  // options: {testid, rowTestid, rowAttrs(row) -> {attr: value}, onRowClick(row), pageSize,
  //           sort: {key, descending}, emptyText, filterPlaceholder}
  class DataTable {
    constructor(columns, options) {
      this.columns = columns.map((c) => Object.assign({ value: (row) => row[c.key], sortable: true }, c));
      // 50 rows, a screen or two: the browser's style and layout cost 0.2-0.5 ms a row of ten
      // cells, whatever the CSS (bench/dashboard_render.py), so a first page of 1,000 took most
      // of a second and one of 100 a third of the page's time; more come on "show more".
      this.options = Object.assign({ pageSize: 50, emptyText: "Nothing to show.", filterPlaceholder: "filter" }, options);
      this.sort = this.options.sort || null;
      this.filterText = "";
      this.rows = [];
      this.searchText = null;  // see rowText()
      this.shown = this.options.pageSize;
      this.signature = null;
      this.rowByElement = new WeakMap();
      this.element = this.build();
    }

    build() {
      this.filterInput = el("input", { className: "filter", attrs: { type: "search", placeholder: this.options.filterPlaceholder, "aria-label": "filter rows" } });
      this.filterInput.addEventListener("input", () => {
        this.filterText = this.filterInput.value;
        this.shown = this.options.pageSize;
        this.render();
      });
      this.countText = el("span", { className: "row-count" });
      this.headRow = el("tr");
      for (const column of this.columns) this.headRow.append(this.buildHeader(column));
      this.body = el("tbody");
      this.body.addEventListener("click", (event) => this.onBodyClick(event));
      this.moreButton = el("button", { className: "more", text: "show more", hidden: true, onClick: () => {
        this.shown += this.options.pageSize;
        this.render();
      } });
      this.moreButton.type = "button";
      const table = el("table", { className: "data", testid: this.options.testid }, [el("thead", {}, [this.headRow]), this.body]);
      return el("div", { className: "table-block" }, [
        el("div", { className: "table-tools" }, [this.filterInput, this.countText]),
        el("div", { className: "table-scroll" }, [table]),
        this.moreButton,
      ]);
    }

    buildHeader(column) {
      const th = el("th", { className: column.numeric ? "num" : "", attrs: { scope: "col" } });
      if (!column.sortable) {
        th.textContent = column.label;
        return th;
      }
      const button = el("button", { className: "sort", text: column.label });
      button.type = "button";
      button.addEventListener("click", () => {
        const same = this.sort && this.sort.key === column.key;
        this.sort = { key: column.key, descending: same ? !this.sort.descending : false };
        this.render();
      });
      th.append(button);
      column.header = th;
      return th;
    }

    // Replaces the rows. Renders only when they differ from the last ones, or when force is set
    // (a cell that shows something the rows do not hold, like a running job's duration).
    setRows(rows, force) {
      const signature = JSON.stringify(rows);
      if (signature === this.signature && !force) return;
      this.signature = signature;
      this.rows = rows;
      this.searchText = null;  // made when a filter first needs it: most renders have none
      this.render();
    }

    // Row -> the lower-case text the filter looks in, every column's value.
    rowText(row) {
      if (this.searchText === null) {
        this.searchText = new Map();
        for (const r of this.rows) {
          this.searchText.set(r, this.columns.map((c) => Dash.displayValue(c.value(r))).join(" ").toLowerCase());
        }
      }
      return this.searchText.get(row);
    }

    // Forces a render of the same rows (say, after a cell's own state changed).
    refresh() {
      this.render();
    }

    orderedRows() {
      let rows = Dash.filterRows(this.rows, this.filterText, (row) => this.rowText(row));
      if (this.sort) {
        const column = this.columns.find((c) => c.key === this.sort.key);
        if (column) rows = Dash.sortRows(rows, column.value, this.sort.descending);
      }
      return rows;
    }

    render() {
      const rows = this.orderedRows();
      const visible = rows.slice(0, this.shown);
      const fragment = document.createDocumentFragment();
      this.rowByElement = new WeakMap();
      for (const row of visible) fragment.append(this.buildRow(row));
      if (visible.length === 0) {
        fragment.append(el("tr", { className: "empty" }, [
          el("td", { text: this.rows.length === 0 ? this.options.emptyText : "No row matches the filter.", attrs: { colspan: this.columns.length } }),
        ]));
      }
      this.body.replaceChildren(fragment);
      this.updateHeaders();
      const filtered = rows.length !== this.rows.length ? " (of " + Dash.formatCount(this.rows.length) + ")" : "";
      this.countText.textContent = visible.length < rows.length
        ? "showing " + Dash.formatCount(visible.length) + " of " + Dash.formatCount(rows.length) + filtered
        : Dash.formatCount(rows.length) + (rows.length === 1 ? " row" : " rows") + filtered;
      this.moreButton.hidden = visible.length >= rows.length;
    }

    buildRow(row) {
      const tr = document.createElement("tr");
      if (this.options.rowTestid) tr.setAttribute("data-testid", this.options.rowTestid);
      if (this.options.rowAttrs) {
        for (const [name, value] of Object.entries(this.options.rowAttrs(row))) {
          if (!Dash.isMissing(value)) tr.setAttribute(name, String(value));
        }
      }
      if (this.options.onRowClick) tr.className = "clickable";
      for (const column of this.columns) {
        const td = document.createElement("td");
        if (column.numeric) td.className = "num";
        const content = column.render ? column.render(row) : Dash.displayValue(column.value(row));
        if (typeof content === "string") {
          td.textContent = content;
        } else if (content) {
          td.append(content);
        }
        tr.append(td);
      }
      this.rowByElement.set(tr, row);
      return tr;
    }

    updateHeaders() {
      for (const column of this.columns) {
        if (!column.header) continue;
        const sorted = this.sort && this.sort.key === column.key;
        column.header.setAttribute("aria-sort", sorted ? (this.sort.descending ? "descending" : "ascending") : "none");
      }
    }

    onBodyClick(event) {
      if (!this.options.onRowClick) return;
      // A click on a link or a button inside the row is that control's, not the row's; and a
      // drag that selected text is a copy, not a click.
      if (event.target.closest("a, button, input, select, summary")) return;
      const selection = window.getSelection ? window.getSelection() : null;
      if (selection && String(selection).length > 0) return;
      const tr = event.target.closest("tr");
      const row = tr ? this.rowByElement.get(tr) : undefined;
      if (row) this.options.onRowClick(row, tr);
    }
  }

  Dash.DataTable = DataTable;
})(window.Dash);
