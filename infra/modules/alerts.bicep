// Tell a person when a transaction needs them. The app logs one "sync attention:" line for each
// transaction left in needs_attention or rolled back by the saga (shared/sync/attention.py); this
// rule counts them every 15 minutes and mails the operator, naming the statuses in the alert.
// Deployed only when an alert e-mail address is given (main.bicep: alertEmail).
param location string
param tags object
param namePrefix string
param workspaceId string
param alertEmail string

resource operators 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${namePrefix}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'dealsync'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// AppTraces is the workspace table of Application Insights traces: the Python worker's log records.
// The line starts "sync attention: status=<status> transaction=<id> ", so parse can read both.
var attentionQuery = '''
AppTraces
| where Message has "sync attention:"
| parse Message with * "sync attention: status=" Status " transaction=" Transaction " " *
| where isnotempty(Transaction)
| summarize Transactions = dcount(Transaction) by Status
'''

resource attention 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-${namePrefix}-attention'
  location: location
  tags: tags
  properties: {
    displayName: 'Deal sync: transactions need a person'
    description: 'Transactions left in needs_attention (an undo is still to do) or rolled back (the deal is not invoiced). Open the status page (/api/status) and see docs/operations.md.'
    severity: 2
    enabled: true
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    scopes: [
      workspaceId
    ]
    criteria: {
      allOf: [
        {
          query: attentionQuery
          timeAggregation: 'Total'
          metricMeasureColumn: 'Transactions'
          dimensions: [
            {
              name: 'Status'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    // Each window's transactions are new ones: fire for every window that has some.
    autoMitigate: false
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

output actionGroupName string = operators.name
output ruleName string = attention.name
