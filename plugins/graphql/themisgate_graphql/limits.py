"""How big a document may be: selection depth, aliases, and the estimated cost.

Each is computed in one pass over the document with every fragment measured once.
strawberry's `QueryDepthLimiter` and `MaxAliasesLimiter` walk a fragment again at every
spread, so a few hundred bytes of fragments spreading each other twice take minutes to
check (twice as long for each further fragment); the rule here checks the same document
in well under a millisecond.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    value_from_ast_untyped,
)

INTROSPECTION_COST = 10  # one __schema or __type, whatever it selects
FIELD_COST = 1
MUTATION_COST = 10  # a mutation field, on top of FIELD_COST
TRAVERSAL_COST_PER_HOP = 10  # graphTraverse: per level of maxDepth
DEFAULT_TOP_K = 5
DEFAULT_MAX_DEPTH = 3

Fragments = Mapping[str, FragmentDefinitionNode]


def fragments_of(definitions: Any) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}


class _Memo:
    """A measure of selection sets in which each fragment is measured once; a spread of
    an unknown or cyclic fragment measures 0 (graphql-core's own rules report those)."""

    def __init__(self, fragments: Fragments, measure: Callable[[_Memo, SelectionSetNode], int]):
        self.fragments = fragments
        self.measure = measure
        self.known: dict[str, int] = {}
        self.open: set[str] = set()

    def of(self, selection_set: SelectionSetNode) -> int:
        return self.measure(self, selection_set)

    def fragment(self, name: str) -> int:
        if name in self.known:
            return self.known[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.open:
            return 0
        self.open.add(name)
        try:
            value = self.of(definition.selection_set)
        finally:
            self.open.discard(name)
        self.known[name] = value
        return value


def _depth(memo: _Memo, selection_set: SelectionSetNode) -> int:
    """Fields on the longest path down; introspection is left to graphql-core's
    `MaxIntrospectionDepthRule` (GraphiQL's own schema query is deep)."""
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue
            below = selection.selection_set
            depth = 1 + (memo.of(below) if below else 0)
        elif isinstance(selection, InlineFragmentNode):
            depth = memo.of(selection.selection_set)
        elif isinstance(selection, FragmentSpreadNode):
            depth = memo.fragment(selection.name.value)
        else:  # pragma: no cover - graphql-core has no other selection kinds
            continue
        deepest = max(deepest, depth)
    return deepest


def _aliases(memo: _Memo, selection_set: SelectionSetNode) -> int:
    """Aliased fields, each spread of a fragment counting its aliases again."""
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += 1 if selection.alias else 0
            if selection.selection_set:
                count += memo.of(selection.selection_set)
        elif isinstance(selection, InlineFragmentNode):
            count += memo.of(selection.selection_set)
        elif isinstance(selection, FragmentSpreadNode):
            count += memo.fragment(selection.name.value)
    return count


def limits_rule(max_depth: int, max_aliases: int) -> type[ValidationRule]:
    """A validation rule refusing documents deeper than `max_depth` fields or with more
    than `max_aliases` aliases (fragments expanded)."""

    class DocumentLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            fragments = fragments_of(document.definitions)
            depth_memo = _Memo(fragments, _depth)
            alias_memo = _Memo(fragments, _aliases)
            try:
                for definition in document.definitions:
                    if not isinstance(definition, OperationDefinitionNode):
                        continue
                    name = definition.name.value if definition.name else "anonymous"
                    depth = depth_memo.of(definition.selection_set)
                    if depth > max_depth:
                        context.report_error(
                            GraphQLError(
                                f"Operation '{name}' is {depth} fields deep; "
                                f"at most {max_depth} are allowed.",
                                definition,
                                extensions={"code": "QUERY_TOO_DEEP", "maxDepth": max_depth},
                            )
                        )
                    aliases = alias_memo.of(definition.selection_set)
                    if aliases > max_aliases:
                        context.report_error(
                            GraphQLError(
                                f"Operation '{name}' uses {aliases} aliases; "
                                f"at most {max_aliases} are allowed.",
                                definition,
                                extensions={
                                    "code": "TOO_MANY_ALIASES",
                                    "maxAliases": max_aliases,
                                },
                            )
                        )
            except RecursionError:
                context.report_error(
                    GraphQLError(
                        "The document nests too deeply to be checked.",
                        extensions={"code": "QUERY_TOO_DEEP", "maxDepth": max_depth},
                    )
                )

    return DocumentLimits


class CostModel:
    """The estimated cost of an operation: what it is charged to the rate limiter.

    Every field selected costs 1 (a plugin's root field its `GraphQLField.cost`), fields
    under fragments counting once per spread. On top: `vectorSearch` its `topK`,
    `graphTraverse` 10 per level of `maxDepth`, each mutation field 10; `__schema` and
    `__type` cost 10 whatever they select; `__typename` is free."""

    def __init__(self, root_costs: Mapping[str, int] | None = None) -> None:
        self.root_costs = dict(root_costs or {})

    def cost(
        self,
        operation: OperationDefinitionNode,
        fragments: Fragments,
        variables: dict[str, Any] | None,
    ) -> int:
        values = variables or {}
        extra_per_root_field = MUTATION_COST if operation.operation.value == "mutation" else 0
        root_costs = self.root_costs

        def measure(memo: _Memo, selection_set: SelectionSetNode, root: bool) -> int:
            total = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    name = selection.name.value
                    if name.startswith("__"):
                        total += 0 if name == "__typename" else INTROSPECTION_COST
                        continue
                    if root:
                        total += root_costs.get(name, FIELD_COST) + extra_per_root_field
                        total += _extra(selection, values)
                    else:
                        total += FIELD_COST
                    if selection.selection_set:
                        total += inner.of(selection.selection_set)
                elif isinstance(selection, InlineFragmentNode):
                    total += memo.of(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    total += memo.fragment(selection.name.value)
            return total

        inner = _Memo(fragments, lambda memo, s: measure(memo, s, False))
        top = _Memo(fragments, lambda memo, s: measure(memo, s, True))
        return top.of(operation.selection_set)


def _argument(field: FieldNode, name: str, variables: dict[str, Any]) -> Any:
    for argument in field.arguments or ():
        if argument.name.value == name:
            return value_from_ast_untyped(argument.value, variables)
    return None


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _extra(field: FieldNode, variables: dict[str, Any]) -> int:
    name = field.name.value
    if name == "vectorSearch":
        search = _argument(field, "input", variables)
        top_k = search.get("topK") if isinstance(search, dict) else None
        return max(0, _int(top_k, DEFAULT_TOP_K))
    if name == "graphTraverse":
        depth = _int(_argument(field, "maxDepth", variables), DEFAULT_MAX_DEPTH)
        return TRAVERSAL_COST_PER_HOP * max(0, depth)
    return 0
