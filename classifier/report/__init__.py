"""What a run says, for people: one summary computed once, charts, the HTML report, the files
forwarded (results CSV and a workbook), and trends over a plan's runs."""
