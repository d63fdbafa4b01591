"""The reviewed mapping from us-gaap / ifrs-full tags to canonical concepts.

Each concept lists its candidate tags in priority order: for a given period, the value comes
from the first candidate the company reported for that period (as known on the query date),
so a company that switched tags (Apple: ``SalesRevenueNet`` until 2018, then
``RevenueFromContractWithCustomerExcludingAssessedTax``; Alphabet: the latter until 2024, then
``Revenues``) still has one series. Candidates keep the concept's meaning; a broader or
narrower tag is listed only as a late fallback (``Depreciation`` for D&A, cash including
restricted cash for cash), and the tag used is always reported beside the value.

Review rules: a concept's candidates share its period type and unit kind; ``long_term_debt``
is the non-current portion (``current_portion_long_term_debt`` is its own concept, so the
total ``LongTermDebt`` is deliberately absent); per-share values are not additive, so no
quarter is derived for them.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    tags: tuple[str, ...]
    #: quarters may be derived by difference (flows in currency: not per-share values)
    additive: bool = True

    @property
    def is_duration(self) -> bool:
        return self.period == "duration"


def _c(
    name: str,
    label: str,
    period: Period,
    tags: list[str],
    unit_kind: UnitKind = "monetary",
    additive: bool | None = None,
) -> Concept:
    if additive is None:
        additive = period == "duration" and unit_kind == "monetary"
    return Concept(name, label, period, unit_kind, tuple(tags), additive)


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
        [
            G + "Revenues",
            G + "RevenueFromContractWithCustomerExcludingAssessedTax",
            G + "RevenueFromContractWithCustomerIncludingAssessedTax",
            G + "SalesRevenueNet",
            G + "SalesRevenueGoodsNet",
            G + "SalesRevenueServicesNet",
            G + "RevenuesNetOfInterestExpense",
            I + "Revenue",
            I + "RevenueFromContractsWithCustomers",
        ],
    ),
    _c(
        "cost_of_revenue",
        "Cost of revenue",
        "duration",
        [
            G + "CostOfRevenue",
            G + "CostOfGoodsAndServicesSold",
            G + "CostOfGoodsSold",
            G + "CostOfServices",
            G + "CostOfGoodsSoldExcludingDepreciationDepletionAndAmortization",
            I + "CostOfSales",
        ],
    ),
    _c("gross_profit", "Gross profit", "duration", [G + "GrossProfit", I + "GrossProfit"]),
    _c(
        "operating_income",
        "Operating income",
        "duration",
        [G + "OperatingIncomeLoss", I + "ProfitLossFromOperatingActivities"],
    ),
    _c(
        "pretax_income",
        "Income before income taxes",
        "duration",
        [
            PRETAX_TOTAL,
            PRETAX_BEFORE_EQUITY_METHOD,
            I + "ProfitLossBeforeTax",
        ],
    ),
    _c(
        "income_tax",
        "Income tax expense",
        "duration",
        [G + "IncomeTaxExpenseBenefit", I + "IncomeTaxExpenseContinuingOperations"],
    ),
    _c(
        "net_income",
        "Net income",
        "duration",
        [
            G + "NetIncomeLoss",
            G + "ProfitLoss",
            G + "NetIncomeLossAvailableToCommonStockholdersBasic",
            I + "ProfitLossAttributableToOwnersOfParent",
            I + "ProfitLoss",
        ],
    ),
    _c(
        "eps_basic",
        "EPS, basic",
        "duration",
        [
            G + "EarningsPerShareBasic",
            G + "EarningsPerShareBasicAndDiluted",
            I + "BasicEarningsLossPerShare",
        ],
        unit_kind="per_share",
    ),
    _c(
        "eps_diluted",
        "EPS, diluted",
        "duration",
        [
            G + "EarningsPerShareDiluted",
            G + "EarningsPerShareBasicAndDiluted",
            I + "DilutedEarningsLossPerShare",
        ],
        unit_kind="per_share",
    ),
    _c(
        "research_development",
        "Research and development",
        "duration",
        [
            G + "ResearchAndDevelopmentExpense",
            G + "ResearchAndDevelopmentExpenseExcludingAcquiredInProcessCost",
            I + "ResearchAndDevelopmentExpense",
        ],
    ),
    _c(
        "sga",
        "Selling, general and administrative",
        "duration",
        [
            G + "SellingGeneralAndAdministrativeExpense",
            I + "SellingGeneralAndAdministrativeExpense",
        ],
    ),
    _c(
        "interest_expense",
        "Interest expense",
        "duration",
        [
            G + "InterestExpense",
            G + "InterestExpenseNonoperating",
            G + "InterestExpenseDebt",
            G + "InterestExpenseOperating",
            I + "InterestExpense",
            I + "FinanceCosts",
        ],
    ),
    _c(
        "depreciation_amortization",
        "Depreciation and amortization",
        "duration",
        [
            G + "DepreciationDepletionAndAmortization",
            G + "DepreciationAmortizationAndAccretionNet",
            G + "DepreciationAndAmortization",
            G + "Depreciation",
            I + "DepreciationAndAmortisationExpense",
            I + "AdjustmentsForDepreciationAndAmortisationExpense",
        ],
    ),
    # --- balance sheet --------------------------------------------------------------------
    _c(
        "shares_outstanding",
        "Shares outstanding",
        "instant",
        [
            G + "CommonStockSharesOutstanding",
            "dei:EntityCommonStockSharesOutstanding",
            I + "NumberOfSharesOutstanding",
        ],
        unit_kind="shares",
    ),
    _c("total_assets", "Total assets", "instant", [G + "Assets", I + "Assets"]),
    _c("current_assets", "Current assets", "instant", [G + "AssetsCurrent", I + "CurrentAssets"]),
    _c(
        "cash",
        "Cash and cash equivalents",
        "instant",
        [
            G + "CashAndCashEquivalentsAtCarryingValue",
            G + "Cash",
            G + "CashAndDueFromBanks",
            I + "CashAndCashEquivalents",
            G + "CashCashEquivalentsRestrictedCashAndRestrictedCashEquivalents",
        ],
    ),
    _c(
        "receivables",
        "Receivables",
        "instant",
        [
            G + "AccountsReceivableNetCurrent",
            G + "ReceivablesNetCurrent",
            G + "AccountsNotesAndLoansReceivableNetCurrent",
            G + "AccountsReceivableNet",
            I + "TradeAndOtherCurrentReceivables",
            I + "CurrentTradeReceivables",
        ],
    ),
    _c("inventory", "Inventory", "instant", [G + "InventoryNet", I + "Inventories"]),
    _c("total_liabilities", "Total liabilities", "instant", [G + "Liabilities", I + "Liabilities"]),
    _c(
        "current_liabilities",
        "Current liabilities",
        "instant",
        [G + "LiabilitiesCurrent", I + "CurrentLiabilities"],
    ),
    _c(
        "short_term_debt",
        "Short-term debt",
        "instant",
        [
            G + "ShortTermBorrowings",
            G + "CommercialPaper",
            G + "OtherShortTermBorrowings",
            I + "ShortTermBorrowings",
        ],
    ),
    _c(
        "current_portion_long_term_debt",
        "Current portion of long-term debt",
        "instant",
        [
            G + "LongTermDebtCurrent",
            G + "LongTermDebtAndCapitalLeaseObligationsCurrent",
            I + "CurrentPortionOfLongtermBorrowings",
        ],
    ),
    _c(
        "long_term_debt",
        "Long-term debt (non-current)",
        "instant",
        [
            G + "LongTermDebtNoncurrent",
            G + "LongTermDebtAndCapitalLeaseObligations",
            I + "LongtermBorrowings",
        ],
    ),
    _c(
        "equity",
        "Shareholders' equity",
        "instant",
        [
            G + "StockholdersEquity",
            G + "StockholdersEquityIncludingPortionAttributableToNoncontrollingInterest",
            I + "EquityAttributableToOwnersOfParent",
            I + "Equity",
        ],
    ),
    # --- cash flow (10-Qs report these year to date) ----------------------------------------
    _c(
        "operating_cash_flow",
        "Operating cash flow",
        "duration",
        [
            G + "NetCashProvidedByUsedInOperatingActivities",
            G + "NetCashProvidedByUsedInOperatingActivitiesContinuingOperations",
            I + "CashFlowsFromUsedInOperatingActivities",
        ],
    ),
    _c(
        "capex",
        "Capital expenditure",
        "duration",
        [
            G + "PaymentsToAcquirePropertyPlantAndEquipment",
            G + "PaymentsToAcquireProductiveAssets",
            I + "PurchaseOfPropertyPlantAndEquipmentClassifiedAsInvestingActivities",
        ],
    ),
    _c(
        "dividends_paid",
        "Dividends paid",
        "duration",
        [
            G + "PaymentsOfDividends",
            G + "PaymentsOfDividendsCommonStock",
            G + "PaymentsOfOrdinaryDividends",
            I + "DividendsPaidClassifiedAsFinancingActivities",
        ],
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
    """(taxonomy, tag) of a concept's candidate tags, highest priority first."""
    return [tuple(t.split(":", 1)) for t in get(name).tags]  # type: ignore[misc]
