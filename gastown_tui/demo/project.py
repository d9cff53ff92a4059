"""The demo rig's project: a small real Python package with its own tests (stdlib unittest),
and the beads whose ```sim blocks exercise every path of the town."""

from __future__ import annotations

PROJECT_FILES: dict[str, str] = {
    "README.md": "# inventory\n\nA tiny stock keeper.\n\nStatus: alpha\n",
    "inventory/__init__.py": '"""A tiny stock keeper."""\n\nfrom inventory.stock import Stock\n\n'
                             '__all__ = ["Stock"]\n',
    "inventory/stock.py": (
        '"""Stock levels per item."""\n\n\n'
        "class Stock:\n"
        "    def __init__(self) -> None:\n"
        "        self.levels: dict[str, int] = {}\n\n"
        "    def add(self, item: str, count: int) -> int:\n"
        "        if count < 0:\n"
        "            raise ValueError('count must be positive')\n"
        "        self.levels[item] = self.levels.get(item, 0) + count\n"
        "        return self.levels[item]\n\n"
        "    def take(self, item: str, count: int) -> int:\n"
        "        if count > self.levels.get(item, 0):\n"
        "            raise ValueError(f'not enough {item}')\n"
        "        self.levels[item] -= count\n"
        "        return self.levels[item]\n"
    ),
    "tests/__init__.py": "",
    "tests/test_stock.py": (
        "import unittest\n\nfrom inventory import Stock\n\n\n"
        "class StockTest(unittest.TestCase):\n"
        "    def test_add_and_take(self):\n"
        "        stock = Stock()\n"
        "        stock.add('bolt', 5)\n"
        "        self.assertEqual(stock.take('bolt', 2), 3)\n\n"
        "    def test_cannot_take_more_than_there_is(self):\n"
        "        with self.assertRaises(ValueError):\n"
        "            Stock().take('nut', 1)\n"
    ),
}

# (title, description with a ```sim script, kind) — kind is what the demo reports about it.
# The sleeps order the beats as README tells them (the conflict comes before the failing
# test); the captions follow the events whatever order they come in.
DEMO_BEADS: list[tuple[str, str, str]] = [
    ("Add a restock helper", """Add `restock(stock, item, target)` that tops an item up to a level.

```sim
write: inventory/restock.py | def restock(stock, item, target):\\n    have = stock.levels.get(item, 0)\\n    if have < target:\\n        stock.add(item, target - have)\\n    return stock.levels.get(item, 0)\\n
write: tests/test_restock.py | import unittest\\n\\nfrom inventory import Stock\\nfrom inventory.restock import restock\\n\\n\\nclass RestockTest(unittest.TestCase):\\n    def test_tops_up(self):\\n        self.assertEqual(restock(Stock(), 'gear', 4), 4)\\n
```""", "clean work"),
    ("Say what the package is for in the README", """Rewrite the README's status line.

```sim
write: README.md | # inventory\\n\\nA tiny stock keeper.\\n\\nStatus: beta, used by the demo town\\n
```""", "first of a conflicting pair"),
    ("Mark the README as stable", """Rewrite the README's status line too (conflicts with the other README bead).

```sim
sleep: 2
write: README.md | # inventory\\n\\nA tiny stock keeper.\\n\\nStatus: stable\\n
```""", "conflict the refinery catches"),
    ("Add a stock report", """Add `report(stock)` listing items by name.

```sim
sleep: 5
write: inventory/report.py | def report(stock):\\n    return [f'{item}: {count}' for item, count in sorted(stock.levels.items())]\\n
fail_tests: tests/test_sim_report.py
```""", "failing test, FIX_NEEDED, then fixed"),
    ("Add low-stock alerts", """Add `low(stock, threshold)` listing items under a threshold.

```sim
hang: true
write: inventory/alerts.py | def low(stock, threshold):\\n    return sorted(i for i, c in stock.levels.items() if c < threshold)\\n
write: tests/test_alerts.py | import unittest\\n\\nfrom inventory import Stock\\nfrom inventory.alerts import low\\n\\n\\nclass AlertsTest(unittest.TestCase):\\n    def test_low(self):\\n        stock = Stock()\\n        stock.add('a', 1)\\n        stock.add('b', 9)\\n        self.assertEqual(low(stock, 5), ['a'])\\n
```""", "hangs, is found stalled and nudged"),
]
