/// The dashboard's and the HTML report's style sheet (no remote fonts: the system font stack).
enum DashboardStyles {
    static let css = #"""
:root{--bg:#f4f6f9;--card:#fff;--ink:#1c2430;--muted:#5f6b7a;--line:#dde3ea;--accent:#2563eb;--ok:#15803d;--warn:#b45309;--bad:#b91c1c;--p50:#2563eb;--p95:#d97706;--p99:#dc2626;--max:#7c3aed;--users:#64748b}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:.6rem 1rem;padding:.7rem 1rem;background:#111827;color:#f9fafb;position:sticky;top:0;z-index:5}
.brand{font-weight:700;font-size:1.15rem;letter-spacing:.02em}
.brand small{font-weight:400;color:#9ca3af;margin-left:.35rem}
.badge{display:inline-block;padding:.12rem .55rem;border-radius:999px;font-size:.8rem;font-weight:600;text-transform:uppercase;letter-spacing:.04em;background:#374151;color:#fff}
.badge.running{background:var(--ok)}.badge.starting,.badge.stopping{background:var(--warn)}.badge.failed{background:var(--bad)}.badge.finished{background:#1d4ed8}
.top .spacer{flex:1}
.top .muted{color:#cbd5e1}
button,.button{font:inherit;border:1px solid var(--line);background:#fff;color:var(--ink);padding:.4rem .8rem;border-radius:6px;cursor:pointer;text-decoration:none;display:inline-block}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
button.danger{background:var(--bad);border-color:var(--bad);color:#fff}
button:disabled{opacity:.45;cursor:not-allowed}
main{max-width:1280px;margin:0 auto;padding:1rem;display:grid;gap:1rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.9rem 1rem;min-width:0}
.card h2{font-size:1rem;margin:0 0 .6rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:.75rem}
.stat .label{color:var(--muted);font-size:.8rem;text-transform:uppercase;letter-spacing:.04em}
.stat .value{font-size:1.6rem;font-weight:700;font-variant-numeric:tabular-nums;white-space:nowrap}
.stat .sub{color:var(--muted);font-size:.85rem}
.progress-row{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.5rem;align-items:baseline}
.progress-row strong{font-size:1.35rem;font-variant-numeric:tabular-nums}
.bar{height:12px;background:#e5e7eb;border-radius:999px;overflow:hidden;margin:.5rem 0}
.bar>div{height:100%;background:linear-gradient(90deg,#2563eb,#16a34a);width:0;transition:width .4s}
.muted{color:var(--muted)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:1rem}
.chart canvas{width:100%;height:220px;display:block}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:.35rem .55rem;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th{font-size:.78rem;text-transform:uppercase;letter-spacing:.03em;color:var(--muted);background:#f8fafc}
th:first-child,td:first-child,td.text,th.text{text-align:left}
td.wrap{white-space:normal;text-align:left;min-width:14rem}
tr.total td{font-weight:700;background:#f8fafc}
tr.lost td{color:var(--bad)}
.tag{display:inline-block;font-size:.72rem;padding:0 .4rem;border-radius:4px;margin-left:.3rem;background:#fee2e2;color:var(--bad);font-weight:600}
.tag.joined{background:#dcfce7;color:var(--ok)}
.chips{display:flex;flex-wrap:wrap;gap:.4rem;margin-bottom:.6rem}
.chip{border:1px solid var(--line);border-radius:999px;padding:.1rem .6rem;font-size:.85rem}
.banner{padding:.7rem 1rem;border-radius:8px;background:#fef3c7;border:1px solid #fcd34d}
.banner.error{background:#fee2e2;border-color:#fca5a5}
form.start{display:grid;grid-template-columns:repeat(auto-fit,minmax(210px,1fr));gap:.7rem 1rem}
form.start label{display:flex;flex-direction:column;gap:.2rem;font-size:.85rem;color:var(--muted)}
form.start input,form.start select{font:inherit;padding:.4rem .5rem;border:1px solid var(--line);border-radius:6px;color:var(--ink);background:#fff}
form.start fieldset{border:0;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:.3rem 1rem;align-items:center}
form.start fieldset legend{font-size:.85rem;color:var(--muted);padding:0;margin-bottom:.2rem}
form.start label.choice{flex-direction:row;align-items:center;gap:.35rem;color:var(--ink);font-size:.95rem}
form.start input[type=radio]{padding:0;margin:0;width:auto}
form.start .buttons{grid-column:1/-1;display:flex;gap:.6rem;flex-wrap:wrap}
.inline{display:flex;gap:.4rem;align-items:center;flex-wrap:wrap;margin-top:.3rem}
.inline input{width:6.5rem;font:inherit;padding:.25rem .4rem;border:1px solid var(--line);border-radius:6px}
.downloads{display:flex;flex-wrap:wrap;gap:.5rem}
.legend{display:flex;flex-wrap:wrap;gap:.2rem .8rem;font-size:.8rem;color:var(--muted);margin-bottom:.3rem}
.legend i{display:inline-block;width:.8rem;height:.2rem;border-radius:2px;vertical-align:middle;margin-right:.3rem}
[hidden]{display:none!important}
body[data-mode=report] .live-only{display:none!important}
body[data-mode=live] .report-only{display:none!important}
@media (max-width:600px){main{padding:.6rem}.stat .value{font-size:1.3rem}.chart canvas{height:180px}th,td{padding:.3rem .4rem}}
@media print{header.top{position:static}.live-only{display:none!important}}
"""#
}
