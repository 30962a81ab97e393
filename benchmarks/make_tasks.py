"""Generate a realistic task CSV (task,owner,effort_hours,due), deterministically from a seed.

Lines come from templates filled with verbs, objects, customers, products and ticket ids; a share
of rows repeats recurring work (standups, 1:1s, weekly reports), as real tracker exports do.

Example:

    python benchmarks/make_tasks.py 100000 .bench/tasks_100k.csv --seed 7
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
from collections.abc import Iterator
from pathlib import Path

OWNERS = ["Maria", "Dev", "Aisha", "Ben", "Tom", "Priya", "Carlos", "Jess", "Lena", "Omar",
          "Grace", "Hiro", "Nadia", "Sam", "Wei", "Zoe"]
CUSTOMERS = ["Henderson Plumbing", "Oak St Bakery", "Valley Home & Garden", "Riverside Hardware",
             "Bayside Building Supply", "Northgate Home Center", "Eastport Tools", "Summit Electric",
             "Lakeview Farms", "Granite Works", "Pioneer HVAC", "Metro Fixtures", "Cedar Mill Co",
             "Harbor Marine", "Sunrise Dental", "Tri-City Schools", "Westside Auto",
             "Blue Ridge Rentals", "Maple Lane Apartments", "Ironclad Fabrication"]
PRODUCTS = ["compact widget", "heavy-duty widget", "W-200", "W-350 Pro", "battery widget",
            "widget mounting kit", "service plan", "extended warranty", "replacement gasket",
            "smart widget controller", "widget cleaning kit", "outdoor widget"]
PLACES = ["Eastport", "Northgate", "Westfield", "Tri-City", "Lakeside", "Riverside", "Hillcrest"]
SYSTEMS = ["CRM", "ERP", "WMS", "EDI portal", "shop floor tablets", "label printer", "website",
           "shared drive", "payroll system", "ticketing tool", "inventory sheet"]
TEAMS = ["sales", "support", "assembly", "warehouse", "marketing", "purchasing", "QA", "finance",
         "second shift", "engineering"]
TICKET_PREFIXES = ["SUP", "OPS", "WMS", "EDI", "MKT", "ENG", "QA", "HR", "FIN", "IT"]
SUPPLIERS = ["Acme Steel", "Pacific Fasteners", "Delta Plastics", "Keystone Packaging",
             "Norland Freight", "Bright Circuits", "Evergreen Rubber"]
ROLES = ["machinist", "inside sales rep", "retail account manager", "QA technician",
         "warehouse lead", "service technician", "marketing coordinator", "buyer"]
CHANNELS = ["LinkedIn", "Instagram", "Facebook", "the newsletter", "KTRI radio", "the local paper"]

TEMPLATES = [
    "Call {customer} about renewing their {product} contract",
    "Follow up with {customer} on ticket {ticket}",
    "Send renewal reminder to {customer} ({ticket})",
    "Resolve {customer} complaint about a late {product} delivery ({ticket})",
    "Satisfaction survey follow-up for {customer}",
    "Pitch the {product} line to the buyer at {customer}",
    "Negotiate volume pricing with {customer} for Q{quarter}",
    "Set up end-cap display at {customer} in {place}",
    "Onboard {customer} into the {system} ({ticket})",
    "Visit {customer} in {place} to review shelf placement",
    "Investigate late shipments on orders {order}-{order_end}",
    "Fix {system} issue reported by {team} ({ticket})",
    "Add final inspection step for {product} at station {station}",
    "Root-cause defect spike on the {product} line ({ticket})",
    "Update packing checklist for {product} orders",
    "Chase {supplier} on missed pickup for PO {order}",
    "Get competing quotes from {supplier} for {product} parts",
    "Reduce scrap on press {station} for {product} housings",
    "Consolidate inbound freight from {supplier} into weekly loads",
    "Calculate landed cost per unit for {product}",
    "Build prototype of the {product} v{version}",
    "Interview {customer} about features for the next {product}",
    "Write launch plan for the {product}",
    "Spec out {product} variant for {place} dealers",
    "Review test results for {product} v{version} ({ticket})",
    "Post job opening for a {role}",
    "Schedule panel interviews for {role} candidates",
    "Onboarding training for new {team} staff",
    "Career conversation with {owner}",
    "Draft offer letter for the {role} role",
    "Post {customer} success story on {channel}",
    "Book booth for the {place} home and garden show",
    "Finalize copy for the {channel} spot about the {product}",
    "Shoot video testimonial with {customer}",
    "Update {product} page on the website ({ticket})",
    "Reconcile {month} invoices for {customer}",
    "Prepare {month} budget review for {team}",
    "Migrate {team} files to the new {system}",
    "Clean up duplicate contacts in the {system}",
    "Reset password for {owner} in the {system} ({ticket})",
    "Order snacks for the {team} team offsite",
    "Plan the {team} holiday party",
    "Reorganize {system} folders for {team}",
    "{verb} the {product} {doc} for {customer}",
    "{verb} {doc} on {product} returns with {team}",
]
VERBS = ["Draft", "Review", "Update", "Finalize", "Share", "Revise", "Summarize", "Approve"]
DOCS = ["proposal", "quote", "report", "checklist", "FAQ", "slide deck", "price sheet", "SOP"]
DETAILS = [
    "; see notes from Tuesday's call",
    " before the end of the month",
    " - blocked until legal signs off",
    " (carry-over from last sprint)",
    (". Customer asked twice already, they are unhappy about the delays and want a call back "
     "from a manager before Friday, ideally with a discount offer and a new delivery date"),
    (". Needs input from purchasing, QA and the warehouse lead; collect numbers for the last "
     "three months and compare against the same period last year before the meeting"),
]
RECURRING = [
    "Daily standup", "Weekly team meeting", "1:1 with manager", "1:1s with direct reports",
    "Sprint planning", "Sprint retro", "Check email and messages", "Weekly status report",
    "Timesheet entry", "Inbox zero", "Monthly all-hands", "Safety walk on the shop floor",
    "Weekly sales pipeline review", "Update the KPI dashboard", "Team lunch",
    "Review support queue", "Expense report", "Plan next week", "Daily production huddle",
    "Friday demo",
]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
EFFORTS = ["0.25", "0.5", "0.5", "1", "1", "1", "1.5", "2", "2", "3", "4", "6", "8", "12"]


def task_text(rng: random.Random, recurring_rate: float) -> str:
    """One task line: recurring work with probability `recurring_rate`, else a filled template."""
    if rng.random() < recurring_rate:
        return rng.choice(RECURRING)
    order = rng.randint(10_000, 99_999)
    template = rng.choice(TEMPLATES)
    text = template.format(
        customer=rng.choice(CUSTOMERS), product=rng.choice(PRODUCTS), place=rng.choice(PLACES),
        system=rng.choice(SYSTEMS), team=rng.choice(TEAMS), supplier=rng.choice(SUPPLIERS),
        role=rng.choice(ROLES), channel=rng.choice(CHANNELS), owner=rng.choice(OWNERS),
        month=rng.choice(MONTHS), verb=rng.choice(VERBS), doc=rng.choice(DOCS),
        ticket=f"{rng.choice(TICKET_PREFIXES)}-{rng.randint(1, 9_999)}",
        order=order, order_end=order + rng.randint(5, 40), station=rng.randint(1, 12),
        quarter=rng.randint(1, 4), version=f"0.{rng.randint(1, 9)}",
    )
    if "{ticket}" not in template and rng.random() < 0.5:
        text += f" ({rng.choice(TICKET_PREFIXES)}-{rng.randint(1, 9_999)})"
    elif rng.random() < 0.3:
        text += f" for week {rng.randint(1, 52)}"
    if rng.random() < 0.15:
        text += rng.choice(DETAILS)
    return text


def rows(n: int, seed: int = 7, recurring_rate: float = 0.3,
         start: dt.date = dt.date(2026, 1, 5)) -> Iterator[tuple[str, str, str, str]]:
    """N rows of (task, owner, effort_hours, due); the same seed gives the same rows."""
    rng = random.Random(seed)
    for number in range(n):
        # Due dates spread over a year, in file order, as an export sorted by date is.
        due = start + dt.timedelta(days=number * 365 // max(n, 1) + rng.randint(0, 4))
        yield (task_text(rng, recurring_rate), rng.choice(OWNERS), rng.choice(EFFORTS),
               due.isoformat())


def write_tasks(path: str | Path, n: int, seed: int = 7, recurring_rate: float = 0.3) -> Path:
    """Write N generated rows with a header to a CSV file; returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["task", "owner", "effort_hours", "due"])
        writer.writerows(rows(n, seed, recurring_rate))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, help="how many task rows")
    parser.add_argument("out", help="CSV file to write (- for stdout)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--recurring-rate", type=float, default=0.3,
                        help="share of rows that are recurring work (default 0.3)")
    args = parser.parse_args(argv)
    if args.out == "-":
        writer = csv.writer(sys.stdout)
        writer.writerow(["task", "owner", "effort_hours", "due"])
        writer.writerows(rows(args.rows, args.seed, args.recurring_rate))
    else:
        write_tasks(args.out, args.rows, args.seed, args.recurring_rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
