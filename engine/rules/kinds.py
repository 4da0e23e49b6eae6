"""Node kind names as plain strings, for the rule pack's hot paths: `.value` on an
enum member is a property call, and the pack compares kinds millions of times."""
from __future__ import annotations

from ..model import NodeKind

AITool = NodeKind.AITool.value
Account = NodeKind.Account.value
Credential = NodeKind.Credential.value
DataSource = NodeKind.DataSource.value
OAuthClient = NodeKind.OAuthClient.value
OAuthGrant = NodeKind.OAuthGrant.value
Person = NodeKind.Person.value
Project = NodeKind.Project.value
ServiceAccount = NodeKind.ServiceAccount.value
Team = NodeKind.Team.value
