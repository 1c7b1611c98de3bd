import { createRequire } from 'node:module';
import type {
  DocumentNode,
  FragmentDefinitionNode,
  GraphQLField,
  GraphQLNamedType,
  GraphQLSchema,
  OperationDefinitionNode,
  SelectionSetNode,
  ValueNode,
} from 'graphql';

// mercurius builds the schema with graphql's CommonJS build; its type predicates must be the same realm.
const gql = createRequire(import.meta.url)('graphql') as typeof import('graphql');

/**
 * Static cost of a GraphQL operation, computed before it runs: every field costs 1 for each time it
 * may be resolved. A field with a `first`/`limit` argument multiplies what is below it by that
 * number (a variable counts as its value, an absent argument as the schema default); the list right
 * under such a field (`nodes`) adds no factor of its own; any other list field is taken as
 * `unpagedListFactor` items. So `domains(first: 100) { nodes { openFindings { code } } }` costs
 * 1 + 100 × (1 + 1 + 10 × 1) = 1201. Fields that do much more than read a column weigh more
 * (`fieldCostWeights`). Aliases are counted separately: each alias is one more field resolved, and
 * a document with hundreds of them is a cheap way to multiply work.
 */
export interface GraphqlLimits {
  maxCost: number;
  maxAliases: number;
}

export const unpagedListFactor = 10;

/**
 * What one resolution of these fields costs instead of 1. A report summary or an enforcement advice
 * aggregates every report row of its domain in a window of up to 400 days: the loader makes one
 * batch of statements for all domains of a query level, but the rows read grow with each domain
 * (and each aliased window). At 50, the default GRAPHQL_MAX_COST (50 000) allows at most 1 000 of
 * them per query, and about 150 with the fields a dashboard selects: a page of 100 domains with
 * summary and advice fits, 200 do not (apps/api/test/graphql-reports.test.ts). A source name may
 * wait on a DNS lookup.
 */
export const fieldCostWeights: Readonly<Record<string, number>> = {
  'Domain.reportSummary': 50,
  'Domain.enforcementAdvice': 50,
  'ReportSource.name': 2,
  'FailingSource.name': 2,
};

/** `first`/`limit` given as a variable that is missing: the largest page any field serves. */
const maxPage = 200;

interface Measure {
  cost: number;
  aliases: number;
}

function intOf(node: ValueNode | undefined, variables: Record<string, unknown>): number | undefined {
  if (!node) return undefined;
  if (node.kind === gql.Kind.INT) return Number.parseInt(node.value, 10);
  if (node.kind === gql.Kind.VARIABLE) {
    const value = variables[node.name.value];
    return typeof value === 'number' && Number.isFinite(value) ? value : maxPage;
  }
  return undefined;
}

function pageSize(
  field: GraphQLField<unknown, unknown>,
  args: readonly { name: { value: string }; value: ValueNode }[],
  variables: Record<string, unknown>,
): number | undefined {
  for (const name of ['first', 'limit']) {
    const def = field.args.find((a) => a.name === name);
    if (!def) continue;
    const given = intOf(args.find((a) => a.name.value === name)?.value, variables);
    const size = given ?? (typeof def.defaultValue === 'number' ? def.defaultValue : maxPage);
    return Math.max(1, Math.min(size, 10_000));
  }
  return undefined;
}

export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined | null,
  variables: Record<string, unknown> = {},
): Measure {
  const fragments = new Map<string, FragmentDefinitionNode>();
  let operation: OperationDefinitionNode | undefined;
  for (const def of document.definitions) {
    if (def.kind === gql.Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    else if (
      def.kind === gql.Kind.OPERATION_DEFINITION &&
      (!operationName || def.name?.value === operationName)
    )
      operation ??= def;
  }
  const total: Measure = { cost: 0, aliases: 0 };
  if (!operation) return total;
  const root =
    operation.operation === 'mutation'
      ? schema.getMutationType()
      : operation.operation === 'subscription'
        ? schema.getSubscriptionType()
        : schema.getQueryType();
  if (!root) return total;

  const walk = (
    set: SelectionSetNode,
    type: GraphQLNamedType,
    factor: number,
    paged: boolean,
    path: Set<string>,
  ): void => {
    for (const selection of set.selections) {
      if (selection.kind === gql.Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        // A cycle is reported by the specified rules; here it just stops.
        if (!fragment || path.has(name)) continue;
        const target = schema.getType(fragment.typeCondition.name.value) ?? type;
        walk(fragment.selectionSet, target, factor, paged, new Set([...path, name]));
        continue;
      }
      if (selection.kind === gql.Kind.INLINE_FRAGMENT) {
        const target = selection.typeCondition
          ? (schema.getType(selection.typeCondition.name.value) ?? type)
          : type;
        walk(selection.selectionSet, target, factor, paged, path);
        continue;
      }
      if (selection.alias) total.aliases++;
      total.cost += factor * (fieldCostWeights[`${type.name}.${selection.name.value}`] ?? 1);
      if (!selection.selectionSet) continue;
      if (!gql.isObjectType(type) && !gql.isInterfaceType(type)) continue;
      const field = type.getFields()[selection.name.value];
      if (!field) continue;
      const isList = gql.isListType(gql.getNullableType(field.type));
      const page = pageSize(field, selection.arguments ?? [], variables);
      let childFactor = factor;
      if (page !== undefined) childFactor *= page;
      else if (isList && !paged) childFactor *= unpagedListFactor;
      walk(selection.selectionSet, gql.getNamedType(field.type), childFactor, page !== undefined, path);
    }
  };
  walk(operation.selectionSet, root, 1, false, new Set());
  return total;
}
