variable "name" { type = string }
variable "manage" { type = bool }
variable "owner" { type = string }
variable "labels" { type = map(string) }
variable "quota" { type = any }
variable "limit_defaults" { type = any }

resource "terraform_data" "namespace" {
  count = var.manage ? 1 : 0
  input = { name = var.name, labels = var.labels, owner = var.owner }
}

resource "terraform_data" "resource_quota" {
  count = var.manage ? 1 : 0
  input = var.quota
}

resource "terraform_data" "limit_range" {
  count = var.manage ? 1 : 0
  input = var.limit_defaults
}

output "name" {
  value = var.name
}
