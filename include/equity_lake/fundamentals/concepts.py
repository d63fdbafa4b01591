"""The reviewed mapping from us-gaap / ifrs-full tags to canonical concepts.

A concept's candidate tags are of two kinds, and each is listed with the reason it is there:

- **Same-line tags** (``same``) carry the very line of the statement the concept names, under
  whichever tag the company used that year: Apple's revenue was ``SalesRevenueNet`` until 2018
  and ``RevenueFromContractWithCustomerExcludingAssessedTax`` after; operating cash flow moves
  between ``NetCashProvidedByUsedInOperatingActivities`` and its ``ContinuingOperations``
  variant. For a period, the value of the *latest filing* known on the query date wins,
  whatever its tag, so a restatement under another same-line tag wins from its filing date on.
  The order of the list only breaks a tie between two same-line tags of one filing.
- **Fallbacks** (``fallbacks``) carry a different but related line (equity including
  non-controlling interest, cash including restricted cash, short-term debt including the
  current portion of long-term debt). One is used only for a period for which no same-line
  value is known on the query date, in the order listed, and the answer marks it
  (``fallback`` is true), so a series never silently changes meaning.

A line that is a useful series of its own (depreciation without amortization, selling and
marketing without general and administrative) is its own concept, never a fallback of the
broader one.

``plausible`` is a regular expression over tag names (full match, any of the two taxonomies):
the tags a reviewer would accept as carrying the concept, broader than the candidates. The
coverage report (``coverage.py``, ``equity-lake show coverage``) flags a company whose document
has a plausible tag but for which no value is returned: that is a candidate list to extend.

Review rules: a concept's candidates share its period type and unit kind; ``long_term_debt``
is the non-current portion (``current_portion_long_term_debt`` and the total,
``long_term_debt_total``, are concepts of their own); per-share values and share counts are not
additive, so no quarter is derived for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

Period = Literal["duration", "instant"]
UnitKind = Literal["monetary", "per_share", "shares"]


@dataclass(frozen=True)
class Concept:
    """A canonical concept: its period type, unit kind and candidate tags (taxonomy:tag)."""

    name: str
    label: str
    period: Period
    unit_kind: UnitKind
    #: tags that carry this very line, any of which the latest filing may use
    same: tuple[str, ...]
    #: tags of a related but different line, used only where no same-line value is known
    fallbacks: tuple[str, ...] = ()
    #: tag names (regex, full match) a reviewer would accept as carrying the concept
    plausible: str = ""
    #: quarters may be derived by difference (flows in currency: not per-share values)
    additive: bool = True

    @property
    def is_duration(self) -> bool:
        return self.period == "duration"

    @property
    def tags(self) -> tuple[str, ...]:
        """Every candidate, same-line tags first."""
        return self.same + self.fallbacks

    @cached_property
    def plausible_pattern(self) -> re.Pattern[str]:
        return re.compile(self.plausible or "|".join(t.split(":", 1)[1] for t in self.tags))


def _c(
    name: str,
    label: str,
    period: Period,
    same: dict[str, str],
    fallbacks: dict[str, str] | None = None,
    *,
    plausible: str = "",
    unit_kind: UnitKind = "monetary",
    additive: bool | None = None,
) -> Concept:
    """A concept from {tag: why it is a candidate} maps (the reasons are for reviewers)."""
    if additive is None:
        additive = period == "duration" and unit_kind == "monetary"
    return Concept(
        name,
        label,
        period,
        unit_kind,
        tuple(same),
        tuple(fallbacks or {}),
        plausible,
        additive,
    )


G = "us-gaap:"
I = "ifrs-full:"  # noqa: E741 - a taxonomy prefix, read like G
PRETAX_TOTAL = (
    G + "IncomeLossFromContinuingOperationsBeforeIncomeTaxes"
    "ExtraordinaryItemsNoncontrollingInterest"
)
PRETAX_BEFORE_EQUITY_METHOD = (
    G + "IncomeLossFromContinuingOperationsBeforeIncomeTaxes"
    "MinorityInterestAndIncomeLossFromEquityMethodInvestments"
)

CONCEPTS: tuple[Concept, ...] = (
    # --- income statement ---------------------------------------------------------------
    _c(
        "revenue",
        "Revenue",
        "duration",
        {
            G + "Revenues": "the total revenue line (Alphabet from 2024, Walmart, JPMorgan)",
            G + "RevenueFromContractWithCustomerExcludingAssessedTax": "ASC 606 revenue (2018+)",
            G + "RevenueFromContractWithCustomerIncludingAssessedTax": "ASC 606, gross of tax",
            G + "SalesRevenueNet": "pre-2018 net sales (Apple until 2018)",
            G + "RevenuesNetOfInterestExpense": "a bank's total net revenue (JPMorgan)",
            I + "Revenue": "IFRS total revenue",
            I + "RevenueFromContractsWithCustomers": "IFRS 15 revenue",
        },
        {
            G + "SalesRevenueGoodsNet": "goods only: the total of a goods-only seller",
            G + "SalesRevenueServicesNet": "services only: the total of a services-only seller",
        },
        # not RevenueNotFromContractWithCustomer (a component) nor *Gross (before returns)
        plausible=r"Revenues?|SalesRevenue\w*Net|RevenuesNetOfInterestExpense"
        r"|RevenueFromContractWithCustomer\w*AssessedTax|RevenueFromContractsWithCustomers",
    ),
    _c(
        "cost_of_revenue",
        "Cost of revenue",
        "duration",
        {
            G + "CostOfRevenue": "total cost of revenue (Alphabet, Walmart)",
            G + "CostOfGoodsAndServicesSold": "goods and services together (Apple, Snowflake)",
            G + "CostOfGoodsSold": "pre-2018 goods sellers' cost of sales",
            I + "CostOfSales": "IFRS cost of sales",
        },
        {
            G + "CostOfServices": "services only: the total of a services-only seller",
            G + "CostOfGoodsSoldExcludingDepreciationDepletionAndAmortization": "excludes D&A",
        },
        # not CostOfGoodsAndServicesSoldDepreciation: the depreciation inside cost of sales
        plausible=r"CostOfRevenue|CostOfGoods(AndServices)?Sold|CostOfServices|CostOfSales"
        r"|CostOf(Goods|Services)\w*ExcludingDepreciation\w*",
    ),
    _c(
        "gross_profit",
        "Gross profit",
        "duration",
        {G + "GrossProfit": "the gross profit line", I + "GrossProfit": "IFRS gross profit"},
    ),
    _c(
        "operating_income",
        "Operating income",
        "duration",
        {
            G + "OperatingIncomeLoss": "the operating income line",
            I + "ProfitLossFromOperatingActivities": "IFRS operating profit",
        },
    ),
    _c(
        "pretax_income",
        "Income before income taxes",
        "duration",
        {
            PRETAX_TOTAL: "income before taxes, the usual total (all filers carried)",
            I + "ProfitLossBeforeTax": "IFRS profit before tax",
        },
        {
            PRETAX_BEFORE_EQUITY_METHOD: "before equity-method income: a narrower line",
        },
        plausible=r"IncomeLossFromContinuingOperationsBeforeIncomeTaxes"
        r"(ExtraordinaryItemsNoncontrollingInterest"
        r"|MinorityInterestAndIncomeLossFromEquityMethodInvestments)|ProfitLossBeforeTax",
    ),
    _c(
        "income_tax",
        "Income tax expense",
        "duration",
        {
            G + "IncomeTaxExpenseBenefit": "the income tax line",
            I + "IncomeTaxExpenseContinuingOperations": "IFRS tax on continuing operations",
        },
    ),
    _c(
        "net_income",
        "Net income",
        "duration",
        {
            G + "NetIncomeLoss": "net income attributable to the parent",
            I + "ProfitLossAttributableToOwnersOfParent": "IFRS, attributable to the parent",
        },
        {
            G + "ProfitLoss": "includes non-controlling interests",
            G + "NetIncomeLossAvailableToCommonStockholdersBasic": "after preferred dividends",
            I + "ProfitLoss": "IFRS, includes non-controlling interests",
        },
        plausible=r"NetIncomeLoss|ProfitLoss|ProfitLossAttributableToOwnersOfParent"
        r"|NetIncomeLossAvailableToCommonStockholdersBasic",
    ),
    _c(
        "eps_basic",
        "EPS, basic",
        "duration",
        {
            G + "EarningsPerShareBasic": "basic EPS",
            G + "EarningsPerShareBasicAndDiluted": "one figure for both (Snowflake to 2021)",
            I + "BasicEarningsLossPerShare": "IFRS basic EPS",
        },
        unit_kind="per_share",
    ),
    _c(
        "eps_diluted",
        "EPS, diluted",
        "duration",
        {
            G + "EarningsPerShareDiluted": "diluted EPS",
            G + "EarningsPerShareBasicAndDiluted": "one figure for both (Snowflake to 2021)",
            I + "DilutedEarningsLossPerShare": "IFRS diluted EPS",
        },
        unit_kind="per_share",
    ),
    _c(
        "research_development",
        "Research and development",
        "duration",
        {
            G + "ResearchAndDevelopmentExpense": "the R&D line",
            G + "ResearchAndDevelopmentExpenseExcludingAcquiredInProcessCost": "R&D less IPR&D",
            I + "ResearchAndDevelopmentExpense": "IFRS R&D expense",
        },
    ),
    _c(
        "sga",
        "Selling, general and administrative",
        "duration",
        {
            G + "SellingGeneralAndAdministrativeExpense": "the combined SG&A line",
            I + "SellingGeneralAndAdministrativeExpense": "IFRS combined SG&A",
        },
    ),
    _c(
        "selling_marketing",
        "Selling and marketing",
        "duration",
        {
            G + "SellingAndMarketingExpense": "reported apart from G&A (Alphabet, Snowflake)",
            I + "SellingExpense": "IFRS distribution costs",
        },
    ),
    _c(
        "general_administrative",
        "General and administrative",
        "duration",
        {
            G + "GeneralAndAdministrativeExpense": "reported apart from S&M (Alphabet, Snowflake)",
            I + "AdministrativeExpense": "IFRS administrative expenses",
        },
    ),
    _c(
        "interest_expense",
        "Interest expense",
        "duration",
        {
            G + "InterestExpense": "total interest expense (Apple, Alphabet to 2024)",
            G + "InterestExpenseNonoperating": "its 2024 taxonomy successor (Alphabet, Snowflake)",
            I + "InterestExpense": "IFRS interest expense",
        },
        {
            G + "InterestExpenseDebt": "interest on debt only (Walmart): excludes other interest",
            G + "InterestExpenseOperating": "a bank's interest expense, an operating cost",
            I + "FinanceCosts": "IFRS finance costs: includes lease and other finance charges",
        },
        # not the InterestExpense{Deposits,LongTermDebt,...} breakdown of a bank's total
        plausible=r"InterestExpense(Nonoperating|Debt|Operating)?|FinanceCosts",
    ),
    _c(
        "depreciation_amortization",
        "Depreciation and amortization",
        "duration",
        {
            G + "DepreciationDepletionAndAmortization": "the cash-flow D&A line (Apple)",
            G + "DepreciationAndAmortization": "D&A without depletion (Apple to 2016)",
            G + "DepreciationAmortizationAndAccretionNet": "the D&A line with accretion (Walmart)",
            G + "OtherDepreciationAndAmortization": "a D&A line moved to the 'other' element",
            I + "DepreciationAndAmortisationExpense": "IFRS D&A expense",
            I + "AdjustmentsForDepreciationAndAmortisationExpense": "IFRS cash-flow D&A",
        },
        plausible=r"(Other)?Depreciation(Depletion)?AndAmortization"
        r"|DepreciationAmortizationAndAccretionNet|(AdjustmentsFor)?DepreciationAndAmortisation"
        r"Expense",
    ),
    _c(
        "depreciation",
        "Depreciation (without amortization)",
        "duration",
        {
            G + "Depreciation": "property and equipment only (Alphabet, Snowflake)",
            I + "DepreciationExpense": "IFRS depreciation expense",
            I + "AdjustmentsForDepreciationExpense": "IFRS cash-flow depreciation",
        },
    ),
    # --- balance sheet --------------------------------------------------------------------
    _c(
        "shares_outstanding",
        "Shares outstanding",
        "instant",
        {
            G + "CommonStockSharesOutstanding": "on the balance sheet date",
            "dei:EntityCommonStockSharesOutstanding": "on the cover page's (later) date",
            I + "NumberOfSharesOutstanding": "IFRS shares outstanding",
        },
        unit_kind="shares",
    ),
    _c(
        "diluted_shares",
        "Weighted average shares, diluted",
        "duration",
        {
            G + "WeightedAverageNumberOfDilutedSharesOutstanding": "the diluted EPS denominator",
            I + "AdjustedWeightedAverageShares": "IFRS diluted denominator",
        },
        unit_kind="shares",
    ),
    _c(
        "total_assets",
        "Total assets",
        "instant",
        {G + "Assets": "total assets", I + "Assets": "IFRS total assets"},
    ),
    _c(
        "current_assets",
        "Current assets",
        "instant",
        {G + "AssetsCurrent": "current assets", I + "CurrentAssets": "IFRS current assets"},
    ),
    _c(
        "cash",
        "Cash and cash equivalents",
        "instant",
        {
            G + "CashAndCashEquivalentsAtCarryingValue": "the balance sheet cash line",
            I + "CashAndCashEquivalents": "IFRS cash and cash equivalents",
        },
        {
            G + "Cash": "cash without equivalents (Apple to 2010)",
            G + "CashAndDueFromBanks": "a bank's cash and due from banks (JPMorgan)",
            G + "CashCashEquivalentsRestrictedCashAndRestrictedCashEquivalents": (
                "includes restricted cash: the cash-flow statement total"
            ),
        },
        plausible=r"CashAndCashEquivalentsAtCarryingValue|CashAndCashEquivalents|Cash"
        r"|CashAndDueFromBanks|CashCashEquivalentsRestrictedCashAndRestrictedCashEquivalents",
    ),
    _c(
        "receivables",
        "Receivables",
        "instant",
        {
            G + "AccountsReceivableNetCurrent": "trade receivables, net (Apple, Alphabet)",
            G + "ReceivablesNetCurrent": "receivables, net, all kinds (Walmart)",
            G + "AccountsNotesAndLoansReceivableNetCurrent": "with notes and loans",
            I + "TradeAndOtherCurrentReceivables": "IFRS trade and other receivables",
            I + "CurrentTradeReceivables": "IFRS trade receivables",
        },
        {G + "AccountsReceivableNet": "not classified as current"},
        plausible=r"(Accounts)?ReceivablesNetCurrent|AccountsReceivableNet(Current)?"
        r"|AccountsNotesAndLoansReceivableNetCurrent|TradeAndOtherCurrentReceivables"
        r"|CurrentTradeReceivables",
    ),
    _c(
        "inventory",
        "Inventory",
        "instant",
        {G + "InventoryNet": "inventories, net", I + "Inventories": "IFRS inventories"},
    ),
    _c(
        "total_liabilities",
        "Total liabilities",
        "instant",
        {G + "Liabilities": "total liabilities", I + "Liabilities": "IFRS total liabilities"},
    ),
    _c(
        "current_liabilities",
        "Current liabilities",
        "instant",
        {
            G + "LiabilitiesCurrent": "current liabilities",
            I + "CurrentLiabilities": "IFRS current liabilities",
        },
    ),
    _c(
        "short_term_debt",
        "Short-term debt",
        "instant",
        {
            G + "ShortTermBorrowings": "short-term borrowings (JPMorgan, Walmart)",
            I + "ShortTermBorrowings": "IFRS short-term borrowings",
        },
        {
            G + "CommercialPaper": "commercial paper only (Apple, Alphabet's balance sheet line)",
            G + "OtherShortTermBorrowings": "short-term borrowings other than commercial paper",
            G + "DebtCurrent": "includes the current portion of long-term debt (Alphabet to 2018)",
        },
        plausible=r"ShortTermBorrowings|CommercialPaper|OtherShortTermBorrowings|DebtCurrent",
    ),
    _c(
        "current_portion_long_term_debt",
        "Current portion of long-term debt",
        "instant",
        {
            G + "LongTermDebtCurrent": "current portion of long-term debt",
            I + "CurrentPortionOfLongtermBorrowings": "IFRS current portion",
        },
        {G + "LongTermDebtAndCapitalLeaseObligationsCurrent": "includes capital leases"},
        plausible=r"LongTermDebtCurrent|LongTermDebtAndCapitalLeaseObligationsCurrent"
        r"|CurrentPortionOfLongtermBorrowings",
    ),
    _c(
        "long_term_debt",
        "Long-term debt (non-current)",
        "instant",
        {
            G + "LongTermDebtNoncurrent": "non-current long-term debt",
            I + "LongtermBorrowings": "IFRS non-current borrowings",
        },
        {
            G + "LongTermDebtAndCapitalLeaseObligations": "non-current, with capital leases",
            G + "ConvertibleDebtNoncurrent": "convertible notes only (Snowflake)",
        },
        plausible=r"LongTermDebtNoncurrent|LongTermDebtAndCapitalLeaseObligations"
        r"|ConvertibleDebtNoncurrent|LongtermBorrowings",
    ),
    _c(
        "long_term_debt_total",
        "Long-term debt, current and non-current",
        "instant",
        {
            G + "LongTermDebt": "the total with current maturities (Apple, Alphabet, Walmart)",
            G + "LongTermDebtAndCapitalLeaseObligationsIncludingCurrentMaturities": (
                "the same total where finance leases are included in it (JPMorgan)"
            ),
        },
        plausible=r"LongTermDebt|LongTermDebtAndCapitalLeaseObligationsIncludingCurrent"
        r"Maturities|LongTermDebtAndFinanceLeaseObligations\w*IncludingCurrent\w*",
    ),
    _c(
        "equity",
        "Shareholders' equity",
        "instant",
        {
            G + "StockholdersEquity": "equity attributable to the parent",
            I + "EquityAttributableToOwnersOfParent": "IFRS, attributable to the parent",
        },
        {
            G + "StockholdersEquityIncludingPortionAttributableToNoncontrollingInterest": (
                "includes non-controlling interests"
            ),
            I + "Equity": "IFRS total equity, includes non-controlling interests",
        },
        plausible=r"StockholdersEquity|StockholdersEquityIncludingPortionAttributableTo"
        r"NoncontrollingInterest|EquityAttributableToOwnersOfParent|Equity",
    ),
    # --- cash flow (10-Qs report these year to date) ----------------------------------------
    _c(
        "operating_cash_flow",
        "Operating cash flow",
        "duration",
        {
            G + "NetCashProvidedByUsedInOperatingActivities": "the operating cash-flow total",
            G + "NetCashProvidedByUsedInOperatingActivitiesContinuingOperations": (
                "the same total when discontinued operations are shown apart (Apple to 2017)"
            ),
            I + "CashFlowsFromUsedInOperatingActivities": "IFRS operating cash-flow total",
        },
        {
            I + "CashFlowsFromUsedInOperations": "IFRS: before interest and tax paid",
        },
        # not the DiscontinuedOperations part, which is a component of the total
        plausible=r"NetCashProvidedByUsedInOperatingActivities(ContinuingOperations)?"
        r"|CashFlowsFromUsedIn(OperatingActivities|Operations)\w*(?<!Discontinued\w{10})",
    ),
    _c(
        "capex",
        "Capital expenditure",
        "duration",
        {
            G + "PaymentsToAcquirePropertyPlantAndEquipment": "purchases of PP&E",
            I + "PurchaseOfPropertyPlantAndEquipmentClassifiedAsInvestingActivities": "IFRS PP&E",
        },
        {G + "PaymentsToAcquireProductiveAssets": "PP&E and intangibles (Apple to 2015)"},
        plausible=r"PaymentsToAcquire(PropertyPlantAndEquipment|ProductiveAssets)"
        r"|PurchaseOfPropertyPlantAndEquipmentClassifiedAsInvestingActivities",
    ),
    _c(
        "dividends_paid",
        "Dividends paid",
        "duration",
        {
            G + "PaymentsOfDividends": "dividends paid (Apple, Alphabet, JPMorgan)",
            G + "PaymentsOfDividendsCommonStock": "to common holders (Walmart)",
            G + "PaymentsOfOrdinaryDividends": "ordinary dividends",
            I + "DividendsPaidClassifiedAsFinancingActivities": "IFRS dividends paid",
        },
    ),
)

BY_NAME: dict[str, Concept] = {c.name: c for c in CONCEPTS}


def _primary_concepts() -> dict[tuple[str, str], str]:
    """(taxonomy, tag) -> the first concept listing it (a tag such as
    EarningsPerShareBasicAndDiluted also serves eps_diluted; queries go by the lists)."""
    primary: dict[tuple[str, str], str] = {}
    for concept in CONCEPTS:
        for qualified in concept.tags:
            taxonomy, tag = qualified.split(":", 1)
            primary.setdefault((taxonomy, tag), concept.name)
    return primary


TAG_CONCEPT: dict[tuple[str, str], str] = _primary_concepts()


def get(name: str) -> Concept:
    """The concept called ``name``; an unknown name lists the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(
            f"unknown concept {name!r}; known concepts: {', '.join(sorted(BY_NAME))}"
        ) from None


def concept_of(taxonomy: str, tag: str) -> str | None:
    """The canonical concept a tag maps to first, or None."""
    return TAG_CONCEPT.get((taxonomy, tag))


def candidates(name: str) -> list[tuple[str, str]]:
    """(taxonomy, tag) of a concept's candidate tags: same-line tags first, then fallbacks."""
    return [tuple(t.split(":", 1)) for t in get(name).tags]  # type: ignore[misc]


def ranks(name: str) -> dict[tuple[str, str], tuple[int, int]]:
    """(taxonomy, tag) -> (line, order): line 0 for same-line tags, 1.. for each fallback.

    Same-line tags compete by filing date, so they share line 0 and ``order`` only breaks a
    tie within one filing; each fallback is a line of its own, tried in order.
    """
    spec = get(name)
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for order, qualified in enumerate(spec.same):
        out[tuple(qualified.split(":", 1))] = (0, order)  # type: ignore[index]
    for i, qualified in enumerate(spec.fallbacks, start=1):
        out[tuple(qualified.split(":", 1))] = (i, 0)  # type: ignore[index]
    return out
