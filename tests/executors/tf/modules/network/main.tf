variable "enabled" { type = bool }
variable "namespace" { type = string }
variable "workload" { type = string }
variable "address" { type = string }
variable "port" { type = number }

resource "terraform_data" "load_balancer" {
  count = var.enabled ? 1 : 0
  input = { name = "${var.workload}-lb", namespace = var.namespace, address = var.address, port = var.port }
}

output "address" {
  value = var.enabled ? var.address : ""
}
