// Package cloudwatch serves tenantml's alarm API in CloudWatch's query
// protocol (Action=PutMetricAlarm | DescribeAlarms | DeleteAlarms,
// Version 2010-08-01, SigV4 service "monitoring", IAM actions
// cloudwatch:*), so that `aws cloudwatch put-metric-alarm` and boto3's
// cloudwatch client work against it. The alarms are package alarm's: they
// watch tenantml's endpoint figures and roll back blue/green updates;
// tenantml has no alarm actions (SNS, Auto Scaling), metric math or
// composite alarms, and refuses them with a ValidationError.
//
// Resources: an alarm's ARN arn:aws:cloudwatch:<region>:<account>:alarm:<name>
// with its tenant and tags; DescribeAlarms acts on "*" and lists the
// caller's tenant's alarms only; DeleteAlarms authorizes every alarm it
// names, and another tenant's alarm answers exactly as a missing one
// (ResourceNotFound).
package cloudwatch
